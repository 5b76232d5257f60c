"""An independent, obviously-correct TURN aggregation in plain Python (no SQL, no sandbox code).

It answers a callsTurnUsageAdaptiveGroups node over raw UsageRows exactly as the JSON the
sandbox must send: grouped by the selected dimensions, summed, averaged, ordered, limited.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from turnmeter.sandbox import UsageRow

STRING_FIELDS = {
    "customIdentifier": "custom_identifier",
    "keyId": "key_id",
    "username": "username",
    "datacenterCity": "datacenter_city",
    "datacenterCode": "datacenter_code",
    "datacenterCountry": "datacenter_country",
    "datacenterRegion": "datacenter_region",
}
TIME_WIDTHS = {
    "datetimeMinute": 1,
    "datetimeFiveMinutes": 5,
    "datetimeFifteenMinutes": 15,
    "datetimeHour": 60,
}
AVG_WIDTHS = {
    "concurrentConnectionsMinute": 1,
    "concurrentConnectionsFiveMinutes": 5,
    "concurrentConnectionsFifteenMinutes": 15,
    "concurrentConnectionsHour": 60,
}
DIMENSIONS = (*STRING_FIELDS, "date", *TIME_WIDTHS)


def truncate(moment: datetime, minutes: int) -> datetime:
    """The start of the ``minutes``-wide bucket holding ``moment`` (buckets start at 00:00)."""
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    into = (moment - midnight) // timedelta(minutes=minutes)
    return midnight + into * timedelta(minutes=minutes)


def dimension(row: Any, name: str, strings: Mapping[str, str] = STRING_FIELDS) -> Any:
    """The value a dimension takes for one row (datetime / date / str); ``strings`` maps the
    dataset's string dimensions to row attributes (TURN's by default)."""
    if name in strings:
        return getattr(row, strings[name])
    if name == "date":
        return row.minute.date()
    return truncate(row.minute, TIME_WIDTHS[name])


def _parse(name: str, value: str) -> Any:
    if name == "date":
        return date.fromisoformat(value)
    if name in TIME_WIDTHS:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    return value


def like(pattern: str, value: str) -> bool:
    """SQL LIKE, case-sensitive, with backslash escapes: a regex, built independently."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        i += 1
    return re.fullmatch("".join(out), value, re.DOTALL) is not None


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "": lambda a, b: a == b,
    "neq": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "geq": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "leq": lambda a, b: a <= b,
    "in": lambda a, b: a in b,
    "notin": lambda a, b: a not in b,
    "like": lambda a, b: like(b, a),
    "notlike": lambda a, b: not like(b, a),
}


def matches(
    row: Any, node_filter: Mapping[str, Any], strings: Mapping[str, str] = STRING_FIELDS
) -> bool:
    """Whether a row passes a filter object (keys ANDed; AND/OR lists; empty lists ignored)."""
    for key, value in node_filter.items():
        if value is None:
            continue
        if key == "AND":
            if not all(matches(row, item, strings) for item in value):
                return False
        elif key == "OR":
            if value and not any(matches(row, item, strings) for item in value):
                return False
        else:
            name, _, op = key.partition("_")
            wanted = [_parse(name, v) for v in value] if op in ("in", "notin") else value
            if op not in ("in", "notin", "like", "notlike"):
                wanted = _parse(name, value)
            if not _OPS[op](dimension(row, name, strings), wanted):
                return False
    return True


def _render(name: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def aggregate(
    rows: Sequence[UsageRow] | Sequence[Any],
    node_filter: Mapping[str, Any],
    dims: Sequence[str],
    sums: Sequence[str],
    avgs: Sequence[str],
    order_by: Sequence[str],
    limit: int,
    strings: Mapping[str, str] = STRING_FIELDS,
) -> list[dict[str, Any]]:
    """The groups (as JSON) the node must return (``strings``: see :func:`dimension`)."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for row in rows:
        if matches(row, node_filter, strings):
            groups.setdefault(tuple(dimension(row, d, strings) for d in dims), []).append(row)
    results = []
    for key, members in groups.items():
        total = {
            "egressBytes": sum(r.egress_bytes for r in members),
            "ingressBytes": sum(r.ingress_bytes for r in members),
        }
        averages = {}
        # SFU rows have no connections (and the SFU node no avg block).
        # connection-minutes per bucket / the bucket's minutes, averaged over the buckets; a
        # group that is itself a time bucket no wider than the average's is its one bucket
        turn = hasattr(members[0], "concurrent_connections")
        group_width = min((TIME_WIDTHS[d] for d in dims if d in TIME_WIDTHS), default=0)
        connections = sum(r.concurrent_connections for r in members) if turn else 0
        for name, width in AVG_WIDTHS.items() if turn else ():
            if 0 < group_width <= width:
                minutes = group_width
            else:
                minutes = width * len({truncate(r.minute, width) for r in members})
            averages[name] = (2 * connections + minutes) // (2 * minutes)  # round half up
        results.append((dict(zip(dims, key, strict=True)), total, averages))
    # stable sorts, least significant first: grouped fields ascending, then orderBy reversed
    for name in reversed(dims):
        results.sort(key=lambda g, n=name: g[0][n])
    for item in reversed(order_by):
        field, _, direction = item.rpartition("_")
        descending = direction == "DESC"
        if field.startswith("sum_"):
            results.sort(key=lambda g, f=field[4:]: g[1][f], reverse=descending)
        elif field.startswith("avg_"):
            results.sort(key=lambda g, f=field[4:]: g[2][f], reverse=descending)
        else:
            results.sort(key=lambda g, f=field: g[0][f], reverse=descending)
    out = []
    for dimension_values, total, averages in results[:limit]:
        group: dict[str, Any] = {}
        if dims:
            group["dimensions"] = {d: _render(d, v) for d, v in dimension_values.items()}
        if sums:
            group["sum"] = {s: total[s] for s in sums}
        if avgs:
            group["avg"] = {a: averages[a] for a in avgs}
        out.append(group)
    return out
