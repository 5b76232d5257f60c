"""An hourly rollup of the usage table, and the rule for when a node may read it.

Most TURN queries ask for whole days of top keys, customers or hourly series: summing 60 minute
rows per (hour, key, username, customer, datacenter) once, at load time, makes their SQL read
far fewer rows. The rollup keeps every column a filter or a dimension can name, so a group's
sums over whole hours are the same from either table; ``n`` counts the raw rows behind each
rollup row (the node's ``count``).

A node may read it when nothing it selects, orders by or filters on is finer than an hour: no
minute, 5- or 15-minute dimension or average, and minute-level time conditions only as the
top-level ``_geq``/``_lt`` bounds of its range. The range is then split in three: the whole
hours in the middle come from the rollup, the partial hours at either end from the raw rows,
and one aggregate runs over the union, so the answer is exactly the raw table's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from turnmeter.sandbox.sql import (
    AVGS,
    DIMENSIONS,
    SUMS,
    TABLE,
    TIME_WIDTHS,
    GroupQuery,
    Projection,
    build_sql,
    distinct_terms,
    plain_columns,
    sql_value,
    where_clause,
)

HOUR = 3600
#: The rollup table (in the attached in-memory schema ``rollup``).
ROLLUP_TABLE = "rollup.usage_hour"
#: Raw columns the rollup groups by (every string column: filters may name any of them).
KEY_COLUMNS = (
    "key_id",
    "username",
    "custom_identifier",
    "datacenter_city",
    "datacenter_code",
    "datacenter_country",
    "datacenter_region",
)
METRIC_COLUMNS = ("egress_bytes", "ingress_bytes", "concurrent_connections")

_KEYS = ", ".join(KEY_COLUMNS)
_SUMS = ", ".join(f"SUM({column}) AS {column}" for column in METRIC_COLUMNS)
#: Rebuilds the rollup rows of the hours in ``{hours}`` (a SQL list or subquery) from raw rows.
FILL = (
    f"INSERT INTO {ROLLUP_TABLE} SELECT (m - m % {HOUR}) AS m, {_KEYS}, {_SUMS}, COUNT(*) AS n "
    f"FROM {TABLE} WHERE {{where}} GROUP BY 1, {_KEYS}"
)
_METRICS = "m, egress_bytes, ingress_bytes, concurrent_connections, n"
CREATE = f"""
CREATE TABLE IF NOT EXISTS {ROLLUP_TABLE} (
    m INTEGER NOT NULL,
    {", ".join(f"{column} TEXT NOT NULL" for column in KEY_COLUMNS)},
    {", ".join(f"{column} INTEGER NOT NULL" for column in METRIC_COLUMNS)},
    n INTEGER NOT NULL
);
"""
# The rollup is small, so its range index covers every column: any part reads the index alone.
INDEXES = f"""
CREATE INDEX IF NOT EXISTS rollup.hour_all ON usage_hour (m, {_KEYS}, {_METRICS[3:]});
CREATE INDEX IF NOT EXISTS rollup.hour_customer ON usage_hour (custom_identifier, {_METRICS});
CREATE INDEX IF NOT EXISTS rollup.hour_key ON usage_hour (key_id, {_METRICS});
CREATE INDEX IF NOT EXISTS rollup.hour_day ON usage_hour ((m - m % 86400), {_METRICS});
"""

#: Time dimensions finer than the rollup, by width in seconds.
_FINE = {name: width for name, width in TIME_WIDTHS.items() if width < HOUR}


@dataclass(frozen=True, slots=True)
class Split:
    """A node's range in three parts: raw ``[low, start)``, rollup ``[start, end)``, raw
    ``[end, high)`` (None: unbounded), and the filter without its minute-level bounds."""

    low: int | None
    start: int | None
    end: int | None
    high: int | None
    rest: Mapping[str, Any]


def split(
    dimensions: tuple[str, ...],
    avgs: tuple[str, ...],
    node_filter: Mapping[str, Any],
    order_by: tuple[str, ...],
) -> Split | None:
    """How a node reads the rollup, or None when it may not (or would gain nothing)."""
    if any(name in _FINE for name in dimensions) or any(AVGS[name] < HOUR for name in avgs):
        return None
    for item in order_by:
        field = item.rpartition("_")[0]
        if field in _FINE or (field.startswith("avg_") and AVGS.get(field[4:], HOUR) < HOUR):
            return None  # a finer bucket than the rollup keeps (or one the SQL refuses)
    low: int | None = None
    high: int | None = None
    rest: dict[str, Any] = {}
    for key, value in node_filter.items():
        if value is None:
            continue  # an explicit null is the same as an absent key
        name, _, operator = key.partition("_")
        if name not in _FINE:
            if _mentions_fine(key, value):
                return None
            rest[key] = value
            continue
        if operator not in ("geq", "lt"):
            return None
        bound = _bucket_bound(name, value)
        if operator == "geq":
            low = bound if low is None else max(low, bound)
        else:
            high = bound if high is None else min(high, bound)
    start = None if low is None else math.ceil(low / HOUR) * HOUR
    end = None if high is None else high // HOUR * HOUR
    if start is not None and end is not None and start >= end:
        return None  # no whole hour inside the range
    return Split(low, start, end, high, rest)


def _mentions_fine(key: str, value: Any) -> bool:
    """Whether a condition (or an AND/OR below it) names a time finer than an hour."""
    if key in ("AND", "OR"):
        return any(_mentions_fine(k, v) for item in value or () for k, v in item.items())
    return key.partition("_")[0] in _FINE


def _bucket_bound(name: str, value: Any) -> int:
    """The first raw minute ``m`` whose ``name`` bucket is at or past ``value``.

    ``bucket(m) >= X`` holds exactly when ``m >= ceil_w(X)``, and ``bucket(m) < X`` exactly when
    ``m < ceil_w(X)`` (``w`` the bucket width), so both bounds become a plain range on ``m``.
    """
    width = _FINE[name]
    seconds = sql_value(DIMENSIONS[name][1], value)
    return int(math.ceil(seconds / width) * width)


def split_sql(
    query: GroupQuery, parts: Split, project: Projection = plain_columns
) -> tuple[str, list[Any]]:
    """The one SELECT answering ``query`` from raw edges and the rollup middle, and its params.

    Each part aggregates its own rows by the node's dimensions; the outer statement adds the
    parts up (sums and counts add; distinct hour buckets too, as the parts hold disjoint hours),
    orders and limits. Aggregating first keeps each part on its covering index.
    """
    dims = [f"d{i}" for i in range(len(query.dimensions))]
    ordered = [item.rpartition("_")[0] for item in query.order_by]
    sums = [name for name in SUMS if name in query.sums or f"sum_{name}" in ordered]
    avgs = bool(query.avgs) or any(field.startswith("avg_") for field in ordered)
    # Grouped by the hour, a group is one bucket (avg_expression's rule); otherwise each part
    # counts its distinct hours.
    buckets = avgs and "datetimeHour" not in query.dimensions
    params: list[Any] = []
    pieces: list[str] = []

    def piece(table: str, count: str, low: int | None, high: int | None) -> None:
        columns = [
            f"{DIMENSIONS[name][0]} AS {d}" for name, d in zip(query.dimensions, dims, strict=True)
        ]
        columns += [f"SUM({SUMS[name]}) AS s_{name}" for name in sums]
        if avgs:
            columns.append("SUM(concurrent_connections) AS cc")
        if buckets:
            columns.append(f"COUNT(DISTINCT (m - m % {HOUR})) AS b")
        columns.append(f"{count} AS n")
        conditions = [where_clause(parts.rest, params)]
        for operator, bound in ((">=", low), ("<", high)):
            if bound is not None:
                conditions.append(f"m {operator} ?")
                params.append(bound)
        sql = f"SELECT {', '.join(columns)} FROM {table} WHERE {' AND '.join(conditions)}"
        if dims:
            sql += " GROUP BY " + ", ".join(dims)
        pieces.append(sql)

    if parts.low is not None and parts.start is not None and parts.low < parts.start:
        piece(TABLE, "COUNT(*)", parts.low, parts.start)
    piece(ROLLUP_TABLE, "SUM(n)", parts.start, parts.end)
    if parts.high is not None and parts.end is not None and parts.end < parts.high:
        piece(TABLE, "COUNT(*)", parts.end, parts.high)
    # sql.avg_expression's reading at the hour width: per hour bucket, connection-minutes / 60,
    # averaged over the group's hours and rounded half up; a group that is an hour is one bucket.
    minutes = HOUR // 60
    average = (
        f"((2 * SUM(cc) + {minutes} * SUM(b)) / (2 * {minutes} * SUM(b)))"
        if buckets
        else f"((2 * SUM(cc) + {minutes}) / (2 * {minutes}))"
    )
    columns = [*dims, *(f"SUM(s_{name})" for name in query.sums)]
    columns += [average for _ in query.avgs]
    columns.append("SUM(n)")
    selected, head = project(columns)
    sql = f"SELECT {selected} FROM ({' UNION ALL '.join(pieces)})"
    if dims:
        sql += " GROUP BY " + ", ".join(dims)
    terms = []
    for item in query.order_by:
        field, _, direction = item.rpartition("_")
        if field.startswith("sum_"):
            terms.append(f"SUM(s_{field[4:]}) {direction}")
        elif field.startswith("avg_"):
            terms.append(f"{average} {direction}")
        elif field in query.dimensions:
            terms.append(f"{dims[query.dimensions.index(field)]} {direction}")
        else:
            return build_sql(query, project)  # the raw statement refuses it in Cloudflare's words
    terms += [f"{d} ASC" for d in dims]
    if terms:
        sql += " ORDER BY " + ", ".join(distinct_terms(terms))
    return sql + " LIMIT ?", [*head, *params, query.limit]


def rollup_sql(
    query: GroupQuery, project: Projection = plain_columns
) -> tuple[str, list[Any]] | None:
    """:func:`split_sql` for ``query``, or None when it must read the raw rows alone."""
    parts = split(query.dimensions, query.avgs, query.filter, query.order_by)
    return None if parts is None else split_sql(query, parts, project)
