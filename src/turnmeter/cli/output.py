"""Writing result rows for people (a rich table) and for programs (JSON, CSV, NDJSON, Parquet).

Rows are dataclass instances (or mappings). Machine formats keep raw numbers and RFC 3339 UTC
times; the table shows bytes in decimal units (GB as Cloudflare bills) and dollars.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

from turnmeter.cli.render import format_bytes, format_duration, format_usd
from turnmeter.errors import ConfigError

FORMATS = ("table", "json", "csv", "ndjson", "parquet")
#: A single row with more columns than this is printed as field/value pairs.
VERTICAL_FROM_COLUMNS = 4


def as_record(row: Any) -> dict[str, Any]:
    """A row as a plain dict (dataclass fields in declaration order)."""
    if dataclasses.is_dataclass(row) and not isinstance(row, type):
        return {f.name: getattr(row, f.name) for f in dataclasses.fields(row)}
    if isinstance(row, Mapping):
        return dict(row)
    if hasattr(row, "_asdict"):
        return dict(row._asdict())
    raise TypeError(f"cannot write a {type(row).__name__} as a row")


def machine_value(value: Any) -> Any:
    """JSON/CSV-ready value: times as RFC 3339 UTC, dates as YYYY-MM-DD."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [machine_value(item) for item in value]
    if isinstance(value, Decimal):
        # Money and gigabytes: JSON numbers, exact to the places they were rounded to.
        return float(value)
    return value


#: column-name suffix -> what the table header says instead (the cell carries its own unit).
_HEADER_SUFFIXES = (("_bytes", ""), ("_usd", ""), ("_pct", " %"), ("_gb", " (GB)"), ("_s", ""))


def human_value(name: str, value: Any) -> str:
    """Table cell text: bytes in decimal units, money in dollars, durations in words, times in
    UTC, yes/no for booleans."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name.endswith("_bytes") and isinstance(value, int):
        return format_bytes(value)
    if name.endswith("_usd") and isinstance(value, int | float | Decimal):
        return format_usd(value)
    if name.endswith("_s") and isinstance(value, int | float):
        return format_duration(value)
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return str(machine_value(value))


def header_for(name: str) -> str:
    """A column name as a table header: ``egress_bytes`` -> ``egress`` (its cells say "GB"),
    ``share_pct`` -> ``share %``, ``cost_usd`` -> ``cost`` (its cells say "$")."""
    for suffix, replacement in _HEADER_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)] + replacement
            break
    return name.replace("_", " ")


def write_rows(
    rows: Sequence[Any],
    fmt: str,
    stream: IO[str],
    *,
    title: str = "",
    caption: str | None = None,
    columns: Sequence[str] = (),
) -> None:
    """Write ``rows`` to ``stream`` in ``fmt`` (one of :data:`FORMATS` except parquet).

    ``columns`` names the fields for a CSV header when there are no rows.
    """
    records = [as_record(row) for row in rows]
    if fmt == "json":
        json.dump([_machine(r) for r in records], stream, indent=2)
        stream.write("\n")
    elif fmt == "ndjson":
        for record in records:
            stream.write(json.dumps(_machine(record)) + "\n")
    elif fmt == "csv":
        _write_csv(records, stream, columns)
    elif fmt == "table":
        _write_table(records, stream, title=title, caption=caption)
    else:
        raise ConfigError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def write_parquet(rows: Sequence[Any], path: str) -> None:
    """Write ``rows`` to a Parquet file (needs the ``parquet`` extra: pyarrow)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError("Parquet needs pyarrow: pip install 'turnmeter[parquet]'") from None
    records = [as_record(row) for row in rows]
    pq.write_table(pa.Table.from_pylist(records), path)


def _machine(record: Mapping[str, Any]) -> dict[str, Any]:
    return {key: machine_value(value) for key, value in record.items()}


def _write_csv(
    records: Sequence[Mapping[str, Any]], stream: IO[str], columns: Sequence[str]
) -> None:
    names = list(records[0]) if records else list(columns)
    if not names:
        return
    writer = csv.DictWriter(stream, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    for record in records:
        # booleans as JSON writes them (true/false), not as Python prints them
        writer.writerow(
            {k: str(v).lower() if isinstance(v, bool) else v for k, v in _machine(record).items()}
        )


def _write_table(
    records: Sequence[Mapping[str, Any]], stream: IO[str], *, title: str, caption: str | None
) -> None:
    from rich.console import Console

    from turnmeter.cli.render import print_table

    console = Console(file=stream, width=_width(stream))
    if not records:
        console.print(f"{title}: no usage in this range" if title else "no usage in this range")
        if caption:
            console.print(caption)
        return
    names = list(records[0])
    if len(records) == 1 and len(names) > VERTICAL_FROM_COLUMNS:
        # One wide row (a total, a budget) reads better as a list of fields.
        record = records[0]
        pairs = ([header_for(name), human_value(name, record[name])] for name in names)
        print_table(console, title, ("field", "value"), pairs, right_align=(1,), caption=caption)
        return
    numeric = [
        i
        for i, name in enumerate(names)
        if isinstance(records[0][name], int | float | Decimal)
        and not isinstance(records[0][name], bool)
    ]
    rows = ([human_value(name, record[name]) for name in names] for record in records)
    headers = [header_for(name) for name in names]
    print_table(console, title, headers, rows, right_align=numeric, caption=caption)


def _width(stream: IO[str]) -> int | None:
    # rich guesses 80 columns for files and pipes; give tables room when not on a terminal.
    return None if getattr(stream, "isatty", lambda: False)() else 120


def render_to_text(rows: Sequence[Any], fmt: str, **kwargs: Any) -> str:
    """``write_rows`` into a string (for tests and for callers that want text)."""
    buffer = io.StringIO()
    write_rows(rows, fmt, buffer, **kwargs)
    return buffer.getvalue()
