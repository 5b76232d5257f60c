"""The sync engine: bring a series up to date, one transaction per fetched window.

One run (``now`` fixed for the whole run):

1. read the node limits (cached per client) and bound the run: buckets from the series' start
   (``since`` on the first run, else as far back as ``notOlderThan`` allows) to ``now``;
2. from the coverage rows, pick the buckets to fetch: never fetched (the new tail, and gaps a
   crash or an outage left) or not yet settled; settled buckets are never asked for again;
3. cut those into contiguous runs, and each run into windows within ``maxDuration`` on bucket
   edges (:func:`turnmeter.query.windows.split`); fetch each window through the query DSL
   (:meth:`TurnUsage.query`, which pages it) and replace it in the store in one transaction,
   with every bucket's ``fetched_at`` and whether it is now settled (it ended ``settle`` ago).

The bucket being filled when the run starts (``now`` inside it) is stored up to ``now`` and is
unsettled, so the next run asks for it again. A crash at any point loses at most the window in
flight: its transaction never committed, its buckets are still missing or unsettled, and the
next run fetches them, so a rerun ends with the ledger an uninterrupted run would have written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from turnmeter.errors import ConfigError
from turnmeter.ledger.coverage import Span, spans
from turnmeter.ledger.model import (
    STORED_DIMENSIONS,
    TIME_DIMENSION,
    BucketRow,
    Cover,
    Series,
    SeriesSpec,
    at,
    ceil_to,
    epoch,
    floor_to,
)
from turnmeter.ledger.store import LedgerStore
from turnmeter.query.filters import utc
from turnmeter.query.model import Query
from turnmeter.query.windows import CLIP_MARGIN, Window, split
from turnmeter.rows import DatasetLimits


class SyncClient(Protocol):
    """What a sync needs of a client (:class:`turnmeter.TurnUsage` provides it)."""

    @property
    def limits_known(self) -> bool: ...

    async def limits_cached(self) -> DatasetLimits: ...

    async def query(
        self,
        query: Query,
        since: datetime,
        until: datetime,
        *,
        on_progress: Callable[[int, int, int], None] | None = ...,
        clock: Callable[[], datetime] | None = ...,
    ) -> Sequence[Any]: ...


@dataclass(frozen=True, slots=True)
class SyncProgress:
    """Where a run is: windows committed of those planned, queries sent, rows stored."""

    windows_done: int
    windows_total: int
    queries: int
    rows: int


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What one run did and left."""

    spec: SeriesSpec
    windows: int
    queries: int
    buckets: int  # buckets fetched (with or without traffic)
    rows: int  # bucket rows written
    unsettled: tuple[Span, ...]  # buckets to fetch again once they settle
    unreachable: tuple[Span, ...]  # gaps older than notOlderThan: Cloudflare no longer has them


ProgressHook = Callable[[SyncProgress], None]


class _Counter:
    """Counts the DSL's requests from its progress calls: every call that does not finish a
    window reports a page, and each page is one request."""

    def __init__(self, on_page: Callable[[], None]) -> None:
        self.queries = 0
        self._first = True
        self._done = 0
        self._on_page = on_page

    def __call__(self, done: int, total: int, rows: int) -> None:
        if self._first:
            self._first = False  # the call made when the plan is known
        elif done == self._done:
            self.queries += 1
            self._on_page()
        self._done = done

    def reset(self) -> None:
        """A new window, a new DSL call: its first progress call is the plan again."""
        self._first, self._done = True, 0


@dataclass(frozen=True, slots=True)
class _Plan:
    series: Series
    windows: list[Window]
    unreachable: tuple[Span, ...]
    end: int  # epoch seconds: the run's "now", to the minute
    queries: int  # spent while planning (the node limits, unless the client had them)


async def sync_series(
    client: SyncClient,
    store: LedgerStore,
    spec: SeriesSpec,
    *,
    now: datetime,
    settle: timedelta,
    since: datetime | None = None,
    on_progress: ProgressHook | None = None,
) -> SyncResult:
    """Bring ``spec``'s series in ``store`` up to ``now`` (see the module docstring)."""
    if not isinstance(settle, timedelta) or settle < timedelta(0):
        raise ConfigError(f"settle must be a non-negative timedelta, got {settle!r}")
    now = utc(now, "now")
    since = utc(since, "since") if since is not None else None
    plan = await _plan(client, store, spec, now, since)
    step, total = spec.seconds, len(plan.windows)
    query = Query(dimensions=(TIME_DIMENSION[spec.grain], *spec.dimensions), metrics=_METRICS)
    fetched_at = epoch(now)
    rows_written = buckets = done = 0
    report = on_progress or (lambda _progress: None)

    def page() -> None:  # queries spent, shown as they go out
        report(SyncProgress(done, total, plan.queries + counter.queries, rows_written))

    counter = _Counter(page)
    report(SyncProgress(0, total, plan.queries, 0))
    for number, window in enumerate(plan.windows, start=1):
        counter.reset()
        answer = await client.query(
            query, window.start, window.end, on_progress=counter, clock=lambda: now
        )
        start, stop = epoch(window.start), epoch(window.end)
        rows = [_bucket_row(row, spec, fetched_at) for row in answer]
        final = plan.end - settle.total_seconds()  # buckets ending by then are settled
        covers = [
            Cover(b, fetched_at, b + step <= stop and b + step <= final)
            for b in range(start, stop, step)
        ]
        await store.replace_window(plan.series.id, start, stop, rows, covers)
        rows_written += len(rows)
        buckets += len(covers)
        done = number
        page()
    after = await store.coverage(plan.series.id)
    unsettled = spans((c.bucket_start for c in after if not c.settled), step)
    queries = plan.queries + counter.queries
    return SyncResult(spec, total, queries, buckets, rows_written, unsettled, plan.unreachable)


async def _plan(
    client: SyncClient,
    store: LedgerStore,
    spec: SeriesSpec,
    now: datetime,
    since: datetime | None,
) -> _Plan:
    step = spec.seconds
    queries = 0 if client.limits_known else 1  # the node limits, read once per client
    limits = await client.limits_cached()
    end = floor_to(epoch(now), 60)
    oldest = ceil_to(epoch(now - limits.not_older_than + CLIP_MARGIN), step)
    existing = next((s for s in await store.all_series() if s.spec == spec), None)
    if since is None and existing is not None:
        series = existing  # no --since: continue the series where it starts
    else:
        # The first run starts at --since (default: the oldest data Cloudflare keeps); a later
        # --since before the series' start extends it backwards.
        first = ceil_to(epoch(since), step) if since is not None else oldest
        if first >= end:
            raise ConfigError(f"since {at(first):%Y-%m-%dT%H:%MZ} is not before now")
        series = await store.ensure_series(spec, first)
    covers = {c.bucket_start: c for c in await store.coverage(series.id)}
    wanted = [b for b in range(series.since, end, step) if b not in covers or not covers[b].settled]
    # Windows on bucket edges, within maxDuration; a bucket wider than maxDuration (a day under
    # a 6 h limit) is a window of its own, which the DSL splits further and sums exactly.
    width = max(limits.max_duration, timedelta(seconds=step))
    windows = [
        w
        for run in spans((b for b in wanted if b >= oldest), step)
        for w in split(at(run.start), at(min(run.end, end)), width, step)
    ]
    unreachable = spans((b for b in wanted if b < oldest), step)
    return _Plan(series, windows, unreachable, end, queries)


_METRICS = ("egress_bytes", "ingress_bytes")


def _bucket_row(row: Any, spec: SeriesSpec, fetched_at: int) -> BucketRow:
    moment = getattr(row, TIME_DIMENSION[spec.grain])
    if not isinstance(moment, datetime) and isinstance(moment, date):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=at(0).tzinfo)
    values = tuple(getattr(row, d) if d in spec.dimensions else "" for d in STORED_DIMENSIONS)
    return (epoch(moment), *values, row.egress_bytes, row.ingress_bytes, fetched_at)
