"""Load your own usage rows from CSV or NDJSON (one JSON object per line).

Columns / keys are UsageRow's field names (``minute``, ``key_id``, ``username``,
``custom_identifier``, ``datacenter_city``, ``datacenter_code``, ``datacenter_country``,
``datacenter_region``, ``egress_bytes``, ``ingress_bytes``, ``concurrent_connections``) or the
GraphQL names (``datetimeMinute``, ``keyId``, ``customIdentifier``, ``egressBytes``, ...).
``minute`` is RFC 3339 or epoch seconds (a number, or digits in CSV). Only ``minute`` and
``egress_bytes`` are required; missing strings are empty, missing counts 0.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from turnmeter.sandbox.model import epoch_minute
from turnmeter.sandbox.scalars import parse_time
from turnmeter.sandbox.store import COLUMNS, RowTuple

_ALIASES = {
    "datetimeMinute": "minute",
    "m": "minute",
    "keyId": "key_id",
    "customIdentifier": "custom_identifier",
    "datacenterCity": "datacenter_city",
    "datacenterCode": "datacenter_code",
    "datacenterCountry": "datacenter_country",
    "datacenterRegion": "datacenter_region",
    "egressBytes": "egress_bytes",
    "ingressBytes": "ingress_bytes",
    "concurrentConnections": "concurrent_connections",
}
_STRINGS = COLUMNS[1:8]
_COUNTS = COLUMNS[8:]
TABULAR_SUFFIXES = (".csv", ".ndjson", ".jsonl")


class RowFormatError(ValueError):
    """A line of an input file is not a usable usage row."""


def _row(record: Mapping[str, Any], where: str) -> RowTuple:
    fields = {_ALIASES.get(key, key): value for key, value in record.items()}
    try:
        minute = fields["minute"]
        if isinstance(minute, str) and minute.strip().isdigit():
            minute = int(minute)  # epoch seconds, as CSV carries every value: text
        if isinstance(minute, int | float):
            seconds = int(minute) - int(minute) % 60
        else:
            seconds = epoch_minute(parse_time(str(minute)))
        strings = tuple(str(fields.get(name) or "") for name in _STRINGS)
        counts = tuple(int(fields.get(name) or 0) for name in _COUNTS)
        if "egress_bytes" not in fields:
            raise KeyError("egress_bytes")
    except (KeyError, ValueError, TypeError) as exc:
        raise RowFormatError(f"{where}: not a usage row ({exc})") from exc
    return (seconds, *strings, *counts)  # type: ignore[return-value]


def read_rows(path: Path) -> Iterator[RowTuple]:
    """Rows from a ``.csv`` (with a header line) or ``.ndjson``/``.jsonl`` file."""
    suffix = path.suffix.lower()
    with path.open(encoding="utf-8", newline="") as handle:
        if suffix == ".csv":
            for number, record in enumerate(csv.DictReader(handle), start=2):
                yield _row(record, f"{path}:{number}")
        elif suffix in (".ndjson", ".jsonl"):
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        record = json.loads(line)
                    except ValueError as exc:
                        raise RowFormatError(f"{path}:{number}: not JSON ({exc})") from exc
                    yield _row(record, f"{path}:{number}")
        else:
            raise RowFormatError(f"{path}: expected one of {', '.join(TABULAR_SUFFIXES)}")
