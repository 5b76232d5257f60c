"""Running a :class:`Query` over any range: windows, pages, merge, progress, streaming.

The plan for one call: read the node limits (cached per client), check the query against them,
bound the range by ``notOlderThan``, cut it into windows (:mod:`turnmeter.query.windows`), then
fetch each window with at most ``concurrency`` windows in flight:

* groups whole in one window and a ``limit`` given: one request per window with the query's own
  ``orderBy`` and ``limit`` (the global top N is the top N of the windows' top N, because no
  group appears in two windows);
* otherwise every group of every window, paged by keyset, then merged, sorted and cut.

Any failing window fails the call; nothing partial is returned. Retries are the transport's.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

from turnmeter.errors import ConfigError, MalformedResponse, QueryError
from turnmeter.query.catalog import FieldSpec
from turnmeter.query.datasets import TURN, Dataset
from turnmeter.query.document import document_for
from turnmeter.query.filters import encode_filter
from turnmeter.query.model import Query
from turnmeter.query.rows import QueryRow, decoder
from turnmeter.query.windows import (
    Merger,
    Window,
    WindowPlan,
    bounded_range,
    check_page,
    keyset_after,
    no_key,
    paging_order,
    plan_windows,
    top,
)
from turnmeter.rows import DatasetLimits

if TYPE_CHECKING:
    from turnmeter.generated import RowDecoder

#: Windows fetched at the same time unless told otherwise; the transport's own rate budget and
#: concurrency cap still apply underneath.
DEFAULT_WINDOW_CONCURRENCY = 4

ProgressCallback = Callable[[int, int, int], None]
Clock = Callable[[], datetime]


class _Transport(Protocol):
    async def execute(
        self,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any],
        *,
        decoder: RowDecoder[QueryRow],
    ) -> list[QueryRow]: ...


class _Settings(Protocol):
    @property
    def account_tag(self) -> str: ...


class QueryHost(Protocol):
    """What the runner needs from a client (``TurnUsage`` provides it)."""

    @property
    def transport(self) -> _Transport: ...

    @property
    def settings(self) -> _Settings: ...

    async def limits_cached(self) -> DatasetLimits: ...


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How ``query()`` / ``stream()`` run: their keyword arguments, as given."""

    clip: bool = False
    concurrency: int | None = None
    on_progress: ProgressCallback | None = None
    clock: Clock | None = None


class RunArgs(TypedDict, total=False):
    """``query()`` / ``stream()``'s keyword arguments, typed (they become :class:`RunOptions`)."""

    clip: bool
    concurrency: int | None
    on_progress: ProgressCallback | None
    clock: Clock | None


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


class _Progress:
    def __init__(self, total: int, callback: ProgressCallback | None) -> None:
        self.total, self.done, self.rows = total, 0, 0
        self._callback = callback
        self._report()

    def page(self, rows: int) -> None:
        self.rows += rows
        self._report()

    def window(self) -> None:
        self.done += 1
        self._report()

    def _report(self) -> None:
        if self._callback is not None:
            self._callback(self.done, self.total, self.rows)


@dataclass(frozen=True, slots=True)
class _Shape:
    """What every run of one query needs and no range changes: made once per query."""

    text: str
    decode: RowDecoder[Any]
    #: The keyset order pages follow, its ``orderBy`` values, and a row's key in it: one value
    #: for one field, else a tuple (attrgetter's own convention, which check_page reads).
    paging: tuple[FieldSpec, ...]
    paging_values: tuple[str, ...]
    key: Callable[[QueryRow], Any]
    #: The ``orderBy`` values of the query's total order (a window's top N).
    top_values: tuple[str, ...]
    #: The ``where`` condition, already encoded as filter JSON.
    where: dict[str, Any] | None


@lru_cache(maxsize=256)
def _shape(query: Query) -> _Shape:
    # Keyed by the query's value: equal queries (a dataclasses.replace per call) share one.
    dataset = query.dataset
    paging = paging_order(query.dimension_specs)
    return _Shape(
        text=document_for(query.fields, dataset),
        decode=decoder(query.fields, dataset),
        paging=paging,
        paging_values=tuple(dataset.order_value(d, False).value for d in paging),
        key=attrgetter(*(d.name for d in paging)) if paging else no_key,
        top_values=tuple(key.enum.value for key in query.total_order),
        where=encode_filter(query.where.to_filter()) if query.where is not None else None,
    )


class _Fetcher:
    """Fetches one window's rows for one query (a page, the window's top N, or all of it)."""

    def __init__(self, host: QueryHost, query: Query, page_size: int, progress: _Progress) -> None:
        self.host, self.query, self.page_size, self.progress = host, query, page_size, progress
        self.operation = query.dataset.operation_name
        try:
            self.shape = _shape(query)
        except TypeError:  # a query holding an unhashable value: made for this run alone
            self.shape = _shape.__wrapped__(query)

    async def page(
        self, window: Window, limit: int, order: Sequence[str], after: dict[str, Any] | None
    ) -> list[QueryRow]:
        """One request: ``limit`` groups of ``window`` in ``order`` (values), past ``after``."""
        shape = self.shape
        filter_ = encode_filter(
            {"datetimeMinute_geq": window.start, "datetimeMinute_lt": window.end}
        )
        conditions = [] if shape.where is None else [shape.where]
        if after is not None:
            conditions.append(encode_filter(after))
        if conditions:
            filter_["AND"] = conditions
        variables = {
            "accountTag": self.host.settings.account_tag,
            "filter": filter_,
            "limit": limit,
            "orderBy": list(order),
        }
        # The transport runs the decoder inside its attempt: the one strict walk of the answer.
        operation = self.operation
        rows = await self.host.transport.execute(
            shape.text, operation, variables, decoder=shape.decode
        )
        if len(rows) > limit:
            # A server that ignores the limit cannot be trusted with the order or the keyset.
            raise MalformedResponse(
                f"{operation} answered {len(rows)} rows for limit {limit}; trusting none"
            )
        self.progress.page(len(rows))
        return rows

    async def top_n(self, window: Window) -> list[QueryRow]:
        """The window's first ``limit`` groups in the query's order (one request)."""
        assert self.query.limit is not None
        # The total order (tie-breakers included): the window's top N is then well defined.
        return await self.page(window, self.query.limit, self.shape.top_values, None)

    async def everything(self, window: Window, most: int | None = None) -> list[QueryRow]:
        """Every group of the window (the first ``most``), paged in the keyset order."""
        paging, key, order = self.shape.paging, self.shape.key, self.shape.paging_values
        rows: list[QueryRow] = []
        after: dict[str, Any] | None = None
        last: Any = None
        while True:
            # A caller that stops after `most` rows (stream's limit) is asked no more than that.
            size = self.page_size if most is None else min(self.page_size, most - len(rows))
            page = await self.page(window, size, order, after)
            if paging:
                # Every key strictly after the one before, across the page boundary too: a
                # repeated row would be summed twice, a page out of order skips rows.
                keys = list(map(key, page))
                check_page(paging, last, keys, f"a page of window {window.start:%FT%TZ}")
            rows.extend(page)
            if len(page) < size or not paging or len(rows) == most:
                return rows
            last = keys[-1]
            after = keyset_after(paging, last if len(paging) > 1 else (last,))


def check_limits(query: Query, limits: DatasetLimits, *, paged_limit: bool = False) -> None:
    """Refuse, before any request, what the node's limits would refuse.

    ``paged_limit``: the limit only stops reading (``stream()``, which pages), so it may be
    over ``maxPageSize``; ``query()``'s limit is one page's.
    """
    if not limits.enabled:
        raise QueryError(
            f"the {query.dataset.label} analytics node is not enabled for this account"
        )
    if not paged_limit and query.limit is not None and query.limit > limits.max_page_size:
        raise QueryError(
            f"limit {query.limit} is over this account's maxPageSize ({limits.max_page_size}); "
            "use limit=None to get every row (turnmeter pages through them)"
        )
    if len(query.fields) > limits.max_number_of_fields:
        raise QueryError(
            f"the query selects {len(query.fields)} fields, over this account's "
            f"maxNumberOfFields ({limits.max_number_of_fields})"
        )


def _concurrency(value: int | None) -> int:
    if value is None:
        return DEFAULT_WINDOW_CONCURRENCY
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"concurrency must be a positive integer, got {value!r}")
    return value


async def _plan(
    host: QueryHost,
    query: Query,
    since: datetime,
    until: datetime,
    clip: bool,
    clock: Clock | None,
    streaming: bool = False,
) -> tuple[DatasetLimits, WindowPlan]:
    if not isinstance(query, Query):
        raise QueryError(f"expected a turnmeter Query, got {type(query).__name__}")
    served: Dataset = getattr(host, "dataset", TURN)
    if query.dataset is not served:
        raise QueryError(
            f"this is a {query.dataset.label} query and this client asks {served.label}: run "
            + (
                "it with turnmeter.SfuUsage(client)"
                if query.dataset is not TURN
                else "it with TurnUsage"
            )
        )
    limits = await host.limits_cached()
    check_limits(query, limits, paged_limit=streaming)
    start, end = bounded_range(since, until, limits, (clock or utc_now)(), clip=clip)
    return limits, plan_windows(query, start, end, limits)


async def _each_window(
    windows: Sequence[Window],
    fetch: Callable[[Window], Awaitable[list[QueryRow]]],
    consume: Callable[[list[QueryRow]], None],
    concurrency: int,
    progress: _Progress,
) -> None:
    if len(windows) == 1:
        # One window (the usual range): fetched in the caller's task, no task group around it.
        consume(await fetch(windows[0]))
        progress.window()
        return
    gate = asyncio.Semaphore(concurrency)

    async def one(window: Window) -> None:
        async with gate:
            rows = await fetch(window)
        consume(rows)
        progress.window()

    try:
        async with asyncio.TaskGroup() as group:
            for window in windows:
                group.create_task(one(window))
    except BaseExceptionGroup as failures:
        # One failed window fails the call (the others were cancelled): raise it as it is.
        raise failures.exceptions[0] from None


async def run_query(
    host: QueryHost, query: Query, since: datetime, until: datetime, options: RunOptions
) -> list[QueryRow]:
    """Every row (or the first ``query.limit``) of ``query`` over ``[since, until)``."""
    concurrency = _concurrency(options.concurrency)
    limits, plan = await _plan(host, query, since, until, options.clip, options.clock)
    progress = _Progress(len(plan.windows), options.on_progress)
    fetcher = _Fetcher(host, query, limits.max_page_size, progress)
    direct = plan.groups_whole and query.limit is not None
    if direct and len(plan.windows) == 1:
        # One answer, in the total order the server was asked for, cut by it: already final.
        # A list of its own: the answer may be shared (cache, single-flight).
        rows = list(await fetcher.top_n(plan.windows[0]))
        progress.window()
        return rows
    merger = Merger(query, plan.groups_whole)
    fetch = fetcher.top_n if direct else fetcher.everything
    await _each_window(plan.windows, fetch, merger.add, concurrency, progress)
    return top(query, merger.rows())


async def stream_query(
    host: QueryHost, query: Query, since: datetime, until: datetime, options: RunOptions
) -> AsyncIterator[QueryRow]:
    """Rows window by window in time order, holding at most ``concurrency`` windows."""
    concurrency = _concurrency(options.concurrency)
    if query.order_keys:
        raise QueryError("stream() yields rows in time order; use query() for order_by")
    limits, plan = await _plan(host, query, since, until, options.clip, options.clock, True)
    if not plan.groups_whole:
        raise QueryError(_not_streamable(query, limits))
    progress = _Progress(len(plan.windows), options.on_progress)
    fetcher = _Fetcher(host, query, limits.max_page_size, progress)
    pending: deque[asyncio.Task[list[QueryRow]]] = deque()
    windows = iter(plan.windows)
    emitted = 0
    try:
        while True:
            # Keep up to `concurrency` windows in flight, in time order.
            while len(pending) < concurrency:
                window = next(windows, None)
                if window is None:
                    break
                pending.append(asyncio.ensure_future(fetcher.everything(window, query.limit)))
            if not pending:
                return
            rows = await pending.popleft()
            progress.window()
            for row in rows:
                yield row
                emitted += 1
                if query.limit is not None and emitted >= query.limit:
                    return
    finally:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def _not_streamable(query: Query, limits: DatasetLimits) -> str:
    times: Sequence[FieldSpec] = query.time_dimensions
    if not times:
        return (
            "stream() needs a time dimension (minute, five_minutes, fifteen_minutes, hour or "
            "date) when the range spans several windows: without one, a group's total is only "
            "known after the last window. Use query(), which merges the windows"
        )
    return (
        f"stream() cannot keep each {times[0].name} bucket in one window: maxDuration "
        f"({limits.max_duration}) is shorter than the bucket. Use a finer time dimension, or "
        "query(), which merges the windows"
    )
