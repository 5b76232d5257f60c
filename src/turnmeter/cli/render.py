"""Human output: byte and cost formatting, and rich tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

#: Decimal units, as Cloudflare bills (1 GB = 10^9 bytes).
_UNITS = ("B", "kB", "MB", "GB", "TB", "PB")


def format_bytes(count: int) -> str:
    """``1234567`` -> ``"1.23 MB"`` (decimal units)."""
    value = float(count)
    for unit in _UNITS:
        if abs(value) < 1000 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


#: (unit seconds, singular, plural) from the largest, for :func:`format_duration`.
_DURATION_UNITS = (
    (86400, "day", "days"),  # no weeks: "31 days" is how people say a month's range
    (3600, "hour", "hours"),
    (60, "minute", "minutes"),
    (1, "second", "seconds"),
)


def format_duration(seconds: float) -> str:
    """``2678400`` -> ``"31 days"``, ``93784`` -> ``"1 day 2 hours"``: the two largest units."""
    left = round(seconds)
    if left <= 0:
        return "0 seconds"
    parts: list[str] = []
    for size, one, many in _DURATION_UNITS:
        count, left = divmod(left, size)
        if count and len(parts) < 2:
            parts.append(f"{count} {one if count == 1 else many}")
        elif parts:
            break  # a gap ("1 day 0 hours 5 minutes") would read as precision it does not have
    return " ".join(parts)


def format_usd(amount: float | Decimal) -> str:
    """``12.3456`` -> ``"$12.35"``; ``-7.07`` -> ``"-$7.07"``."""
    return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


def bar(value: int, largest: int, width: int = 20) -> str:
    """A proportional bar of block characters, for quick visual comparison."""
    if largest <= 0 or value <= 0:
        return ""
    return "█" * max(1, round(width * value / largest))


_SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[int], width: int = 100) -> str:
    """One line of block characters; long series are averaged down to ``width`` columns."""
    if not values:
        return ""
    step = max(1, -(-len(values) // width))
    points = [
        sum(values[i : i + step]) / len(values[i : i + step]) for i in range(0, len(values), step)
    ]
    low, high = min(points), max(points)
    span = (high - low) or 1
    return "".join(_SPARKS[int((p - low) / span * (len(_SPARKS) - 1))] for p in points)


def print_table(
    console: Console,
    title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    right_align: Iterable[int] = (),
    caption: str | None = None,
) -> None:
    """Print a title line, one rich table and a caption line; ``right_align`` columns hold numbers.

    Title and caption are lines of their own rather than the table's: rich wraps those to the
    table's width, and a narrow table would break a date range over two lines.
    """
    from rich.table import Table

    table = Table()
    numeric = set(right_align)
    for index, header in enumerate(headers):
        table.add_column(header, justify="right" if index in numeric else "left")
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    if title:
        console.print(title, style="bold", markup=False, highlight=False)
    console.print(table)
    if caption:
        console.print(caption, style="dim", markup=False, highlight=False)
