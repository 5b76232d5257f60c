"""Time windows, keyset pagination and merging: one big question as many small exact ones.

* **Windows.** A range wider than the node's ``maxDuration`` is cut into half-open windows
  ``[a, b)`` on the ``datetimeMinute`` filter (``_geq a``, ``_lt b``): every minute bucket lies
  in exactly one window. Inner edges sit on multiples of the *alignment*, the coarsest selected
  time dimension's bucket when ``maxDuration`` allows it, else the minute; with that alignment a
  group (which holds one bucket of that dimension) never straddles two windows.
* **Pages.** No cursors exist, so a window is paged in a total order over every selected
  dimension (time dimensions first, ascending) and each next page is filtered past the last row
  seen: ``d1 > v1 OR (d1 = v1 AND d2 > v2) OR ...`` (the keyset), which is exact even when many
  rows share a value of ``d1``.
* **Merging.** Sums add for the same group across windows; averages are kept only when each
  group is whole in one window, and refused with :class:`MergeError` otherwise. Sorting repeats
  the server's order: the query's ``orderBy`` first, then the dimensions ascending.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import chain
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any

from turnmeter.errors import MalformedResponse, MergeError, QueryError
from turnmeter.query.catalog import MINUTE, FieldSpec
from turnmeter.query.filters import time_range
from turnmeter.rows import DatasetLimits

if TYPE_CHECKING:
    from turnmeter.query.model import Query

#: With ``clip=True`` the start moves this far past the oldest allowed moment, so that the
#: server's clock running a little ahead of ours does not turn the clip into a refusal.
CLIP_MARGIN = timedelta(minutes=1)


#: The earliest moment a datetime can hold: a notOlderThan reaching past it bounds nothing.
_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Window:
    """One half-open time window ``[start, end)`` (UTC)."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class WindowPlan:
    """How a range is cut: the windows, their alignment, and whether groups stay whole."""

    windows: tuple[Window, ...]
    alignment: int
    groups_whole: bool


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _ceil(moment: datetime, step: int) -> datetime:
    seconds = -(-moment.timestamp() // step) * step
    return _at(int(seconds))


def bounded_range(
    since: datetime,
    until: datetime,
    limits: DatasetLimits,
    now: datetime,
    *,
    clip: bool = False,
) -> tuple[datetime, datetime]:
    """``[since, until)`` in UTC, checked against ``notOlderThan`` (or clipped to it)."""
    start, end = time_range(since, until)
    if limits.not_older_than >= now - _EARLIEST:
        return start, end  # a limit reaching past year 1 bounds nothing (and would overflow)
    oldest = now - limits.not_older_than
    if start >= oldest:
        return start, end
    if not clip:
        raise QueryError(
            f"since {start:%Y-%m-%dT%H:%M:%SZ} is older than this account may query "
            f"(notOlderThan {limits.not_older_than}: data from {oldest:%Y-%m-%dT%H:%M:%SZ} on); "
            "pass clip=True to start there instead"
        )
    clipped = _ceil(oldest + CLIP_MARGIN, MINUTE)
    if clipped >= end:
        raise QueryError(
            f"the whole range ends before {clipped:%Y-%m-%dT%H:%M:%SZ}, the oldest data this "
            f"account may query (notOlderThan {limits.not_older_than})"
        )
    return clipped, end


def split(start: datetime, end: datetime, max_duration: timedelta, alignment: int) -> list[Window]:
    """Windows covering ``[start, end)`` exactly, each at most ``max_duration`` wide, with inner
    edges on multiples of ``alignment`` seconds since the epoch."""
    width = int(max_duration.total_seconds()) // alignment * alignment
    if width <= 0:
        raise QueryError(f"maxDuration {max_duration} is shorter than one {alignment} s bucket")
    windows: list[Window] = []
    cursor = start
    while cursor < end:
        floor = _epoch(cursor) // alignment * alignment
        # Compared as seconds first: an unbounded maxDuration puts floor + width past year 9999.
        edge = end if floor + width >= end.timestamp() else _at(floor + width)
        windows.append(Window(cursor, edge))
        cursor = edge
    return windows


def plan_windows(query: Query, start: datetime, end: datetime, limits: DatasetLimits) -> WindowPlan:
    """Cut ``[start, end)`` for ``query``; refuse averages that windows would split."""
    grains, averaged = _cut_rules(query.dimension_specs, query.metric_specs)
    max_seconds = int(limits.max_duration.total_seconds())
    # A group holds one bucket of every selected time dimension, so aligning windows to any one
    # of them keeps groups whole; the coarsest that fits in maxDuration gives the fewest windows.
    fitting = [grain for grain in grains if grain <= max_seconds]
    alignment = max(fitting, default=MINUTE)
    windows = tuple(split(start, end, limits.max_duration, alignment))
    groups_whole = len(windows) <= 1 or bool(fitting)
    if averaged and not groups_whole:
        raise MergeError(
            f"{', '.join(averaged)} cannot be merged exactly: the range needs {len(windows)} "
            f"windows of at most {limits.max_duration} (maxDuration), narrower than the "
            "selected time buckets, so a bucket's average would be an average of partial "
            "averages. Query a range within maxDuration, select a finer time dimension, or drop "
            "the avg metric"
        )
    return WindowPlan(windows, alignment, groups_whole)


@lru_cache(maxsize=256)
def _cut_rules(
    dimensions: tuple[FieldSpec, ...], metrics: tuple[FieldSpec, ...]
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """A selection's time buckets (seconds) and its averaged metrics: what cutting a range
    depends on, kept per selection since every run of a query asks again."""
    grains = tuple(d.granularity or MINUTE for d in dimensions if d.is_time)
    return grains, tuple(m.name for m in metrics if m.block == "avg")


def paging_order(dimensions: Sequence[FieldSpec]) -> tuple[FieldSpec, ...]:
    """The total order pages follow: time dimensions (coarsest first), then the others."""
    times = sorted((d for d in dimensions if d.is_time), key=lambda d: -(d.granularity or 0))
    return (*times, *(d for d in dimensions if not d.is_time))


def keyset_after(order: Sequence[FieldSpec], last: Sequence[Any]) -> dict[str, Any]:
    """The filter for rows strictly after ``last`` in the ascending ``order``.

    ``(d1 > v1) OR (d1 = v1 AND d2 > v2) OR ...``: exact for ties on any prefix.
    """
    branches: list[dict[str, Any]] = []
    for depth, spec in enumerate(order):
        branch = {order[i].schema: last[i] for i in range(depth)}
        branch[f"{spec.schema}_gt"] = last[depth]
        branches.append(branch)
    return branches[0] if len(branches) == 1 else {"OR": branches}


def check_page(
    order: Sequence[FieldSpec], previous: Any, keys: Sequence[Any], what: str = "a page"
) -> None:
    """Refuse a keyset page that does not advance (:class:`MalformedResponse`, naming keys).

    ``keys`` are the page's rows in the ascending paging ``order`` (one value per row for a
    one-field order, else tuples) and ``previous`` the previous page's last key (None for the
    first page). Each key must sort strictly after the one before it: a row repeated from the
    previous page would be summed twice, and a page out of order makes the keyset skip rows.
    """
    if not keys:
        return
    if previous is not None and not keys[0] > previous:
        raise MalformedResponse(
            f"{what} does not start after the previous page's last row: "
            f"{_describe(order, keys[0])} is not after {_describe(order, previous)}; the server "
            "repeated rows or ignored the keyset filter"
        )
    # The whole page compared in C; only a page out of order walks it to name the row.
    if all(map(operator.gt, keys[1:], keys)):
        return
    for index in range(1, len(keys)):
        if not keys[index] > keys[index - 1]:
            raise MalformedResponse(
                f"{what} is not in the paging order: row {index} "
                f"({_describe(order, keys[index])}) does not sort after row {index - 1} "
                f"({_describe(order, keys[index - 1])})"
            )


def _describe(order: Sequence[FieldSpec], key: Any) -> str:
    values = key if len(order) > 1 else (key,)
    return ", ".join(
        f"{spec.name}={_text(value)}" for spec, value in zip(order, values, strict=False)
    )


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime | date) else repr(value)


class Merger:
    """Adds rows of the same group; refuses to add averages (they are not additive).

    With ``groups_whole`` (every group inside one window) the windows' rows are kept as they
    came: no group is in two windows, and a window's pages are keyset-checked to advance, so
    none repeats. Otherwise a set of group keys decides, and only repeated groups are added.
    """

    def __init__(self, query: Query, groups_whole: bool = False) -> None:
        names = [spec.name for spec in query.fields]
        width = len(query.dimension_specs)
        self._key: Callable[[Any], Any] = attrgetter(*names[:width]) if width else no_key
        self._sums = [
            names[width + i] for i, m in enumerate(query.metric_specs) if m.block == "sum"
        ]
        self._has_avg = query.has_avg
        self._whole = groups_whole
        self._batches: list[list[Any]] = []

    def add(self, rows: list[Any]) -> None:
        """Fold a window's rows into the merged groups."""
        self._batches.append(rows)

    def rows(self) -> list[Any]:
        """The merged groups (unordered)."""
        batches = self._batches
        # A new list even for one batch: an answer may be shared (cache, single-flight) and the
        # caller's rows get sorted and handed out.
        everything = list(chain.from_iterable(batches))
        if self._whole or len(set(map(self._key, everything))) == len(everything):
            return everything  # no group twice: nothing to add
        return self._merged(everything)

    def _merged(self, rows: list[Any]) -> list[Any]:
        groups: dict[Any, Any] = {}
        for row in rows:
            key = self._key(row)
            merged = groups.get(key)
            if merged is None:
                groups[key] = row
                continue
            if self._has_avg:
                raise MergeError(
                    f"group {key!r} came back from two windows or pages; its averages cannot "
                    "be merged exactly"
                )
            sums = {name: getattr(merged, name) + getattr(row, name) for name in self._sums}
            groups[key] = dataclasses.replace(merged, **sums)
        return list(groups.values())


def no_key(row: Any) -> tuple[()]:
    """The key of a row grouped by no dimension (every row is the one group)."""
    return ()


def sort_rows(query: Query, rows: list[Any]) -> list[Any]:
    """``rows`` in the query's total order: its orderBy, then the other dimensions ascending.

    Rows are the DSL's rows (read by field name) or value tuples in field order (the ledger's).
    """
    positions = {spec: i for i, spec in enumerate(query.fields)}
    keys = [(positions[k.field], k.descending) for k in query.total_order]
    if not rows or not keys:
        return rows
    if isinstance(rows[0], tuple):
        getter: Callable[..., Callable[[Any], Any]] = itemgetter
        fields: list[Any] = list(range(len(query.fields)))
    else:
        getter, fields = attrgetter, [spec.name for spec in query.fields]
    if len({descending for _, descending in keys}) == 1:
        # One direction: one sort on the composite key.
        rows.sort(key=getter(*(fields[p] for p, _ in keys)), reverse=keys[0][1])
        return rows
    # Stable sorts from the least significant key up give a mixed ASC/DESC order.
    for position, descending in reversed(keys):
        rows.sort(key=getter(fields[position]), reverse=descending)
    return rows


def top(query: Query, rows: list[Any]) -> list[Any]:
    """Sorted, and cut to the query's limit."""
    ordered = sort_rows(query, rows)
    return ordered if query.limit is None else ordered[: query.limit]
