"""Translate one ``callsTurnUsageAdaptiveGroups`` node into ONE SQLite statement.

The node's filter becomes WHERE (every operator, nested AND/OR; time dimensions are compared on
their truncated value), the selected dimensions become GROUP BY, ``sum``/``avg`` fields become
aggregates, ``orderBy`` comes first in ORDER BY followed by the grouped fields (ascending, in
selection order), and ``limit`` becomes LIMIT. Values always travel as SQL parameters.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from turnmeter.sandbox.refusals import Refusal

TABLE = "usage"
DAY = 86400
#: The SQL function (registered by the store) that answers LIKE patterns holding a NUL.
LIKE_FUNCTION = "turnmeter_like"

#: The time dimensions every usage table shares: field -> (SQL over the epoch minute ``m``,
#: kind).
TIME_DIMENSIONS: dict[str, tuple[str, str]] = {
    "date": (f"(m - m % {DAY})", "date"),
    "datetimeMinute": ("m", "time"),
    "datetimeFiveMinutes": ("(m - m % 300)", "time"),
    "datetimeFifteenMinutes": ("(m - m % 900)", "time"),
    "datetimeHour": ("(m - m % 3600)", "time"),
}
#: dimension field -> (SQL expression over the columns, kind).
DIMENSIONS: dict[str, tuple[str, str]] = {
    "customIdentifier": ("custom_identifier", "string"),
    "keyId": ("key_id", "string"),
    "username": ("username", "string"),
    "datacenterCity": ("datacenter_city", "string"),
    "datacenterCode": ("datacenter_code", "string"),
    "datacenterCountry": ("datacenter_country", "string"),
    "datacenterRegion": ("datacenter_region", "string"),
    **TIME_DIMENSIONS,
}

SUMS: dict[str, str] = {"egressBytes": "egress_bytes", "ingressBytes": "ingress_bytes"}

#: avg field -> bucket width in seconds (see avg_expression for the definition used).
AVGS: dict[str, int] = {
    "concurrentConnectionsMinute": 60,
    "concurrentConnectionsFiveMinutes": 300,
    "concurrentConnectionsFifteenMinutes": 900,
    "concurrentConnectionsHour": 3600,
}

#: time dimension -> its bucket width in seconds
TIME_WIDTHS: dict[str, int] = {
    "datetimeMinute": 60,
    "datetimeFiveMinutes": 300,
    "datetimeFifteenMinutes": 900,
    "datetimeHour": 3600,
}

_COMPARISONS = {"": "=", "gt": ">", "geq": ">=", "lt": "<", "leq": "<=", "neq": "!="}


@dataclass(frozen=True)
class GroupQuery:
    """What one TURN node asks for, read from its arguments and selection set."""

    dimensions: tuple[str, ...]
    sums: tuple[str, ...]
    avgs: tuple[str, ...]
    filter: Mapping[str, Any]
    order_by: tuple[str, ...]
    limit: int
    selected_fields: int = 0  # leaf fields under dimensions/sum/avg, for maxNumberOfFields


def bucket_expression(width: int) -> str:
    """SQL for the start of the ``width``-second bucket holding minute ``m``."""
    return "m" if width == 60 else f"(m - m % {width})"


def avg_expression(width: int, dimensions: Sequence[str] = ()) -> str:
    """Average concurrent connections over the group's ``width``-second buckets.

    Each row holds the connections open during its minute. For each bucket of ``width`` seconds
    that has rows in the group, the connections open in it are its connection-minutes divided by
    its minutes (the time-weighted mean of the open connections); those are averaged over the
    buckets and rounded half up to an integer (``uint64``). So a fixed number of long sessions
    reads the same at every width, and a coarser width never reads more than a finer one. When
    the group is itself a time bucket no wider than ``width``, that bucket is the one bucket.
    Integer arithmetic keeps it exact.
    """
    group_width = min((TIME_WIDTHS[name] for name in dimensions if name in TIME_WIDTHS), default=0)
    if 0 < group_width <= width:
        # the group lies in one bucket, its own (and SQLite is spared a COUNT DISTINCT sort)
        minutes = group_width // 60
        return f"((2 * SUM(concurrent_connections) + {minutes}) / (2 * {minutes}))"
    minutes = width // 60
    buckets = f"COUNT(DISTINCT {bucket_expression(width)})"
    return (
        f"((2 * SUM(concurrent_connections) + {minutes} * {buckets}) / (2 * {minutes} * {buckets}))"
    )


def like_to_glob(pattern: str) -> str:
    """A SQL LIKE pattern (``%``, ``_``, backslash escapes) as a case-sensitive GLOB pattern.

    Cloudflare's ``_like`` is case-sensitive; SQLite's LIKE is not, its GLOB is.
    """
    out: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            char = next(chars, "\\")
            out.append(f"[{char}]" if char in "*?[" else char)
        elif char == "%":
            out.append("*")
        elif char == "_":
            out.append("?")
        elif char in "*?[":
            out.append(f"[{char}]")
        else:
            out.append(char)
    return "".join(out)


@functools.lru_cache(maxsize=256)
def _like_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            out.append(re.escape(next(chars, "\\")))
        elif char in "%_":
            out.append(".*" if char == "%" else ".")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.DOTALL)


def like_matches(value: str | None, pattern: str | None) -> bool:
    """SQL LIKE as :func:`like_to_glob` reads it, in Python: every character, NUL included,
    is compared (the :data:`LIKE_FUNCTION` SQLite calls)."""
    if value is None or pattern is None:
        return False
    return _like_regex(pattern).fullmatch(value) is not None


def sql_value(kind: str, value: Any) -> Any:
    """A filter value as the SQL parameter its column is compared with."""
    if kind == "time":
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        seconds = moment.astimezone(UTC).timestamp()
        return int(seconds) if seconds.is_integer() else seconds
    if kind == "date":
        day = value if isinstance(value, date) else date.fromisoformat(value)
        return (day - date(1970, 1, 1)).days * DAY
    return value


def where_clause(
    node_filter: Mapping[str, Any],
    params: list[Any],
    dimensions: Mapping[str, tuple[str, str]] = DIMENSIONS,
) -> str:
    """SQL for a filter object (conditions ANDed); appends its parameters to ``params``.

    ``dimensions`` is the dataset's (TURN's by default; the SFU's in :mod:`.sfu`).
    """
    parts: list[str] = []
    for key, value in node_filter.items():
        if value is None:
            continue  # an explicit null is the same as an absent key
        if key in ("AND", "OR"):
            subs = [where_clause(item, params, dimensions) for item in value]
            if subs:  # an empty AND/OR list adds no condition
                parts.append("(" + f" {key} ".join(subs) + ")")
            continue
        parts.append(_condition(key, value, params, dimensions))
    return " AND ".join(parts) if parts else "1"


def _condition(
    key: str, value: Any, params: list[Any], dimensions: Mapping[str, tuple[str, str]]
) -> str:
    name, _, operator = key.partition("_")
    expression, kind = dimensions[name]
    if operator in _COMPARISONS:
        params.append(sql_value(kind, value))
        return f"{expression} {_COMPARISONS[operator]} ?"
    if operator in ("in", "notin"):
        params.extend(sql_value(kind, item) for item in value)
        negation = "NOT " if operator == "notin" else ""
        return f"{expression} {negation}IN ({', '.join('?' * len(value))})"
    if operator in ("like", "notlike"):
        negation = "NOT " if operator == "notlike" else ""
        if "\x00" in value:
            # SQLite reads a GLOB pattern as a C string, so it would end at the NUL and
            # "abc\x00zzz" would match "abc"; the Python matcher compares the NUL itself.
            params.append(value)
            return f"{negation}{LIKE_FUNCTION}({expression}, ?)"
        params.append(like_to_glob(value))
        return f"{expression} {negation}GLOB ?"
    raise Refusal(f'unknown field "{key}"')


def _order_terms(query: GroupQuery) -> list[str]:
    terms: list[str] = []
    for item in query.order_by:
        field, _, direction = item.rpartition("_")
        if field.startswith("sum_"):
            expression = f"SUM({SUMS[field[4:]]})"
        elif field.startswith("avg_"):
            expression = avg_expression(AVGS[field[4:]], query.dimensions)
        elif field in query.dimensions:
            expression = DIMENSIONS[field][0]
        else:
            raise Refusal(f'cannot order by "{field}": it is not one of the selected dimensions')
        terms.append(f"{expression} {direction}")
    terms.extend(f"{DIMENSIONS[name][0]} ASC" for name in query.dimensions)
    return distinct_terms(terms)


def distinct_terms(terms: Sequence[str]) -> list[str]:
    """ORDER BY terms without a later one on an expression already sorted by: it could never
    change the order, and SQLite then sees that the GROUP BY's order is the ORDER BY's (a
    minute x datacenter answer is sorted once, not twice)."""
    seen: set[str] = set()
    kept: list[str] = []
    for term in terms:
        expression = term.rpartition(" ")[0]
        if expression not in seen:
            seen.add(expression)
            kept.append(term)
    return kept


#: A statement's select list, from its column expressions (the query's dimensions, sums and
#: avgs in its order, then the count of raw rows behind the group): the list's SQL and the
#: parameters it holds (they come first: the select list starts the statement).
Projection = Callable[[Sequence[str]], tuple[str, list[Any]]]


def plain_columns(columns: Sequence[str]) -> tuple[str, list[Any]]:
    """The select list :func:`decode_rows` reads: the columns themselves."""
    return ", ".join(columns), []


def build_sql(query: GroupQuery, project: Projection = plain_columns) -> tuple[str, list[Any]]:
    """The one SELECT statement answering ``query``, and its parameters."""
    params: list[Any] = []
    where = where_clause(query.filter, params)
    sql, head = select_sql(query, TABLE, where, "COUNT(*)", project)
    return sql, [*head, *params, query.limit]


def select_sql(
    query: GroupQuery, source: str, where: str, count: str, project: Projection = plain_columns
) -> tuple[str, list[Any]]:
    """The aggregate for ``query`` over ``source`` rows passing ``where``, ending in
    ``LIMIT ?``, and the parameters of its select list.

    ``count`` counts the raw rows behind a group (``COUNT(*)`` over raw rows; a sum of their
    counts over the rollup).
    """
    columns = [DIMENSIONS[name][0] for name in query.dimensions]
    columns += [f"SUM({SUMS[name]})" for name in query.sums]
    columns += [avg_expression(AVGS[name], query.dimensions) for name in query.avgs]
    columns.append(count)
    selected, head = project(columns)
    sql = f"SELECT {selected} FROM {source} WHERE {where}"
    if query.dimensions:
        sql += " GROUP BY " + ", ".join(DIMENSIONS[name][0] for name in query.dimensions)
    order = _order_terms(query)
    if order:
        sql += " ORDER BY " + ", ".join(order)
    return sql + " LIMIT ?", head


def decode_rows(query: GroupQuery, rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """SQL result rows as group objects ``{"dimensions": {...}, "sum": {...}, "avg": {...}}``.

    Time dimensions become aware UTC datetimes (whole seconds: the columns hold integers),
    dates become dates; each distinct bucket is converted once per answer.
    """
    build = _group_builder(query)
    return [build(row) for row in rows if row[-1]]  # 0 (or NULL) raw rows: no group


def _group_builder(query: GroupQuery) -> Callable[[Sequence[Any]], dict[str, Any]]:
    """One row -> one group object, as a function written for this selection.

    A literal per selection is several times faster than building the dicts field by field,
    and a 10,000-group answer spends as long here as in its SQL. Only catalogue names (the
    keys of DIMENSIONS, SUMS and AVGS) are written into the source, through repr().
    """
    for name in (*query.dimensions, *query.sums, *query.avgs):
        if name not in DIMENSIONS and name not in SUMS and name not in AVGS:
            raise Refusal(f'unknown field "{name}"')  # never written into source
    scope: dict[str, Any] = {}
    dims = []
    for index, name in enumerate(query.dimensions):
        convert = converter(DIMENSIONS[name][1])
        value = f"row[{index}]"
        if convert is not None:
            scope[f"c{index}"] = convert
            value = f"c{index}({value})"
        dims.append(f"{name!r}: {value}")
    offset = len(query.dimensions)
    sums = [f"{name!r}: row[{offset + i}]" for i, name in enumerate(query.sums)]
    offset += len(query.sums)
    avgs = [f"{name!r}: row[{offset + i}]" for i, name in enumerate(query.avgs)]
    source = (
        f'lambda row: {{"dimensions": {{{", ".join(dims)}}}, "sum": {{{", ".join(sums)}}}, '
        f'"avg": {{{", ".join(avgs)}}}, "count": row[-1]}}'
    )
    return eval(source, scope)  # type: ignore[no-any-return]


def converter(kind: str) -> Any:
    """A memoising epoch-seconds -> datetime (or date) function, or None for strings."""
    if kind not in ("time", "date"):
        return None
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        found = seen.get(value)
        if found is None:
            moment = datetime.fromtimestamp(value, UTC)
            found = seen[value] = moment if kind == "time" else moment.date()
        return found

    return convert
