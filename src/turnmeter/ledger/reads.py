"""Answering a :class:`~turnmeter.query.Query` from the ledger instead of Cloudflare.

The ledger holds sums per bucket of its series, so it answers any grouping by the series'
dimensions and any time dimension at least as coarse as the grain, over any range it covers,
however old. The range is taken in whole buckets: every bucket starting in ``[since, until)``
after rounding ``since`` down and ``until`` up to the grain (the answer says so when that
moved an edge). Filters are evaluated on the stored dimension values with Cloudflare's rules
(``like`` is case-sensitive). The answer names what in the range is not covered and what is
not settled yet, so a report can say it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from turnmeter.errors import QueryError
from turnmeter.ledger.coverage import Span, missing
from turnmeter.ledger.model import STORED_DIMENSIONS, Series, at, ceil_to, epoch, floor_to
from turnmeter.ledger.store import LedgerStore
from turnmeter.query.catalog import FieldSpec
from turnmeter.query.conditions import AllOf, AnyOf, Comparison, Condition
from turnmeter.query.filters import time_range
from turnmeter.query.model import Query
from turnmeter.query.rows import QueryRow, row_class
from turnmeter.query.windows import top


@dataclass(frozen=True, slots=True)
class LedgerAnswer:
    """Rows as :meth:`TurnUsage.query` would return them, and what the ledger can vouch for."""

    rows: list[QueryRow]
    series: Series
    span: Span  # the whole buckets answered for
    uncovered: tuple[Span, ...]
    unsettled: tuple[Span, ...]
    rounded: bool  # the asked range was widened to whole buckets

    def notes(self) -> list[str]:
        """One line per caveat: not covered, not settled, rounded to buckets."""
        lines = []
        grain = self.series.spec.grain
        if self.rounded:
            lines.append(f"range taken in whole {grain} buckets: {self.span.describe()}")
        for span in self.uncovered:
            lines.append(f"not in the ledger (counted as zero): {span.describe()}")
        for span in self.unsettled:
            lines.append(f"not settled yet (may still change): {span.describe()}")
        return lines


async def answer(
    store: LedgerStore, query: Query, since: datetime, until: datetime
) -> LedgerAnswer:
    """``query`` over ``[since, until)`` from the best series in ``store`` (see module doc)."""
    since, until = time_range(since, until)
    if query.has_avg:
        raise QueryError("the ledger stores sums (egress, ingress), not averages")
    times = query.time_dimensions
    plain = tuple(d.name for d in query.dimension_specs if not d.is_time)
    filtered = _fields(query.where) if query.where is not None else set()
    if any(spec.is_time for spec in filtered):
        raise QueryError("a ledger read takes its time range from --since/--until, not --filter")
    needed = set(plain) | {spec.name for spec in filtered}
    finest = min((t.granularity or 60 for t in times), default=None)
    series = _choose(await store.all_series(), needed, finest, since, until)
    step = series.spec.seconds
    start, end = floor_to(epoch(since), step), ceil_to(epoch(until), step)
    columns = tuple(name for name in STORED_DIMENSIONS if name in needed)
    raw = await store.aggregate(series.id, start, end, finest, columns)
    rows = _regroup(query, raw, finest, columns)
    uncovered, unsettled = missing(await store.coverage(series.id), start, end, step)
    rounded = (start, end) != (epoch(since), epoch(until))
    cls = row_class(query.fields)
    return LedgerAnswer(
        [cls(*values) for values in top(query, rows)],
        series,
        Span(start, end),
        uncovered,
        unsettled,
        rounded,
    )


def _choose(
    candidates: Sequence[Series],
    needed: set[str],
    finest: int | None,
    since: datetime,
    until: datetime,
) -> Series:
    fitting = [
        s
        for s in candidates
        if needed <= set(s.spec.dimensions) and (finest is None or finest % s.spec.seconds == 0)
    ]
    if not fitting:
        held = "; ".join(s.spec.label for s in candidates) or "nothing yet (run turnmeter sync)"
        want = ",".join(sorted(needed)) or "(none)"
        raise QueryError(
            f"no series in the ledger answers this: it needs dimensions {want}"
            + (f" at {finest} s buckets or finer" if finest else "")
            + f"; the ledger holds {held}. Sync one with turnmeter sync --dimensions ..."
        )

    def aligned(series: Series) -> bool:
        step = series.spec.seconds
        return epoch(since) % step == 0 and epoch(until) % step == 0

    # Exact edges first, then the coarsest grain (fewest rows), then the fewest dimensions.
    return min(fitting, key=lambda s: (not aligned(s), -s.spec.seconds, len(s.spec.dimensions)))


def _regroup(
    query: Query, raw: Iterable[tuple[Any, ...]], step: int | None, columns: tuple[str, ...]
) -> list[tuple[Any, ...]]:
    offset = 1 if step else 0
    position = {name: offset + i for i, name in enumerate(columns)}
    where = query.where
    groups: dict[tuple[Any, ...], list[int]] = {}
    for record in raw:
        if where is not None and not _holds(where, record, position):
            continue
        key = tuple(
            _time_value(d, record[0]) if d.is_time else record[position[d.name]]
            for d in query.dimension_specs
        )
        sums = groups.setdefault(key, [0, 0])
        sums[0] += record[-2]
        sums[1] += record[-1]
    metrics = {"egress_bytes": 0, "ingress_bytes": 1}
    return [
        (*key, *(sums[metrics[m.name]] for m in query.metric_specs)) for key, sums in groups.items()
    ]


def _time_value(spec: FieldSpec, seconds: int) -> Any:
    moment = at(int(seconds))
    if spec.kind == "date":
        return moment.date()
    # A coarser time dimension than the aggregation step: cut the bucket down to it.
    width = spec.granularity or 60
    return datetime.fromtimestamp(floor_to(int(seconds), width), UTC)


def _fields(condition: Condition) -> set[FieldSpec]:
    if isinstance(condition, Comparison):
        return {condition.field}
    if isinstance(condition, AllOf | AnyOf):
        return set().union(*(_fields(item) for item in condition.items))
    raise QueryError(f"the ledger cannot evaluate the condition {condition!r}")


def _holds(condition: Condition, record: tuple[Any, ...], position: dict[str, int]) -> bool:
    if isinstance(condition, AllOf):
        return all(_holds(item, record, position) for item in condition.items)
    if isinstance(condition, AnyOf):
        return any(_holds(item, record, position) for item in condition.items)
    assert isinstance(condition, Comparison)
    return _compare(condition.op, record[position[condition.field.name]], condition.value)


def _compare(op: str, value: Any, operand: Any) -> bool:
    from turnmeter.sandbox.sql import like_matches  # Cloudflare's LIKE, as the sandbox has it

    if op == "eq":
        return bool(value == operand)
    if op == "neq":
        return bool(value != operand)
    if op in ("in", "notin"):
        return (value in list(operand)) == (op == "in")
    if op in ("like", "notlike"):
        return like_matches(value, operand) == (op == "like")
    comparisons = {
        "gt": value > operand,
        "geq": value >= operand,
        "lt": value < operand,
        "leq": value <= operand,
    }
    return bool(comparisons[op])
