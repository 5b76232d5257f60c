"""Node limits: the time range a filter asks for, and the checks Cloudflare applies to it.

The range is measured from the filter's own time bounds (``datetime*`` and ``date`` keys):
conditions in the object and its ``AND`` items narrow it; an ``OR`` bounds it only as far as
every branch does. A missing start counts as ``now - notOlderThan`` and a missing end as ``now``,
so a query with no time filter spans the whole retention and is refused as too wide (unless
``maxDuration`` covers it), which is what an unbounded adaptive query costs at Cloudflare.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from turnmeter.sandbox import refusals
from turnmeter.sandbox.model import NodeLimits
from turnmeter.sandbox.sql import DAY, DIMENSIONS, sql_value

_WIDTHS = {
    "date": DAY,
    "datetimeMinute": 60,
    "datetimeFiveMinutes": 300,
    "datetimeFifteenMinutes": 900,
    "datetimeHour": 3600,
}


@dataclass(frozen=True, slots=True)
class Bounds:
    """A half-open time range ``[start, end)`` in epoch seconds; None = unbounded."""

    start: float | None = None
    end: float | None = None


def _intersect(a: Bounds, b: Bounds) -> Bounds:
    starts = [x for x in (a.start, b.start) if x is not None]
    ends = [x for x in (a.end, b.end) if x is not None]
    return Bounds(max(starts) if starts else None, min(ends) if ends else None)


def _union(branches: list[Bounds]) -> Bounds:
    starts = [b.start for b in branches]
    ends = [b.end for b in branches]
    return Bounds(
        None if None in starts else min(s for s in starts if s is not None),
        None if None in ends else max(e for e in ends if e is not None),
    )


def _key_bounds(key: str, value: Any) -> Bounds:
    name, _, operator = key.partition("_")
    width = _WIDTHS.get(name)
    if width is None:
        return Bounds()
    kind = DIMENSIONS[name][1]
    # Dates cover whole days, so their bounds are day edges; times are taken as written.
    after = width if kind == "date" else 0
    if operator in ("gt", "geq"):
        low = sql_value(kind, value)
        return Bounds(start=low + (after if operator == "gt" else 0))
    if operator in ("lt", "leq"):
        high = sql_value(kind, value)
        return Bounds(end=high + (after if operator == "leq" else 0))
    if operator == "":
        point = sql_value(kind, value)
        return Bounds(point, point + width)
    if operator == "in" and value:
        points = [sql_value(kind, item) for item in value]
        return Bounds(min(points), max(points) + width)
    return Bounds()


def filter_bounds(node_filter: Mapping[str, Any]) -> Bounds:
    """The time range a filter object restricts rows to (as far as its keys say)."""
    bounds = Bounds()
    for key, value in node_filter.items():
        if value is None:
            continue
        if key == "AND":
            for item in value:
                bounds = _intersect(bounds, filter_bounds(item))
        elif key == "OR":
            if value:
                bounds = _intersect(bounds, _union([filter_bounds(item) for item in value]))
        else:
            bounds = _intersect(bounds, _key_bounds(key, value))
    return bounds


def check_node(
    limits: NodeLimits,
    account_tag: str,
    now: float,
    node_filter: Mapping[str, Any],
    limit: int,
    field_count: int,
    dataset: str = "callsTurnUsageAdaptiveGroups",
) -> None:
    """Raise the Refusal Cloudflare would send for this node (of ``dataset``), if any."""
    if not limits.enabled:
        raise refusals.not_enabled(account_tag, dataset)
    if not 0 < limit <= limits.max_page_size:
        raise refusals.bad_limit(limits.max_page_size)
    if field_count > limits.max_number_of_fields:
        raise refusals.too_many_fields(limits.max_number_of_fields)
    bounds = filter_bounds(node_filter)
    oldest = now - limits.not_older_than
    start = oldest if bounds.start is None else bounds.start
    end = now if bounds.end is None else bounds.end
    if start < oldest:
        raise refusals.too_old(account_tag, limits.not_older_than, now - start)
    if end - start > limits.max_duration:
        raise refusals.too_wide(account_tag, limits.max_duration, end - start)
