"""The facade: ``TurnUsage``, an async client for Cloudflare Realtime TURN usage.

Thin by design: each seed method checks its arguments, composes the filter
(:mod:`turnmeter.query.filters`) and ``orderBy`` (:mod:`turnmeter.query.ordering`), and makes one
call of the generated client (reached through :mod:`turnmeter.generated`, the one door) per page.
The generated method sends its operation constant through the transport with the decoder the
generator wrote for it, and returns typed rows (:mod:`turnmeter.rows`). ``limits()`` is the
generated method with its strict pydantic model; ``query()`` and ``stream()`` are the DSL
(:mod:`turnmeter.query`).
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Awaitable, Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol, TypeVar, Unpack

import turnmeter.rows as typed_rows  # the generated rows load on first use (turnmeter.rows)
from turnmeter.auth import Secret
from turnmeter.errors import ConfigError, MalformedResponse
from turnmeter.lifecycle import AsyncLifecycle
from turnmeter.query.filters import FilterArgs, OtherFilterArgs, filter_variables
from turnmeter.query.listing import PER_KEY, SERIES, Listing, collect
from turnmeter.query.ordering import OrderByArg, order_by_values
from turnmeter.settings import ClientSettings, resolve_settings, with_resilience

if typing.TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    import aiohttp
    import pydantic

    from turnmeter.generated import GeneratedClient
    from turnmeter.query import Query, QueryRow
    from turnmeter.query.runner import RunArgs
    from turnmeter.transport.http import AiohttpTransport
    from turnmeter.transport.ratelimit import RateBudget, RateLimiter
    from turnmeter.transport.retry import RetryHook, RetryPolicy

#: Rows a top-N method returns unless told otherwise.
DEFAULT_TOP_LIMIT = 10

T = TypeVar("T")
OrderByInput = OrderByArg | Iterable[OrderByArg] | None


class _HasAccounts(Protocol):
    @property
    def viewer(self) -> Any: ...


class TurnUsage(AsyncLifecycle):
    """Async client for one Cloudflare account's TURN usage.

    Use as ``async with TurnUsage(...) as turn:``. Arguments fall back to ``CLOUDFLARE_API_TOKEN``,
    ``CLOUDFLARE_ACCOUNT_ID`` and ``TURNMETER_ENDPOINT``. Pass ``session`` to share an aiohttp
    session (turnmeter then leaves it open).
    """

    def __init__(
        self,
        *,
        account_tag: str | None = None,
        api_token: str | Secret | None = None,
        endpoint: str | None = None,
        timeout: float | None = None,
        session: aiohttp.ClientSession | None = None,
        settings: ClientSettings | None = None,
        retry: RetryPolicy | None = None,
        rate_budget: RateBudget | None = None,
        max_concurrency: int | None = None,
        cache_ttl: float | None = None,
        rate_limiter: RateLimiter | None = None,
        on_retry: RetryHook | None = None,
        max_response_bytes: int | None = None,
        max_server_wait: float | None = None,
    ) -> None:
        # retry / rate_budget / max_concurrency / cache_ttl / max_response_bytes /
        # max_server_wait: see turnmeter.transport.http; None keeps the default. rate_limiter shares
        # one budget between clients; on_retry observes retries.
        self.settings = with_resilience(
            settings
            or resolve_settings(
                account_tag=account_tag, api_token=api_token, endpoint=endpoint, timeout=timeout
            ),
            retry=retry,
            rate_budget=rate_budget,
            max_concurrency=max_concurrency,
            cache_ttl=cache_ttl,
            max_response_bytes=max_response_bytes,
            max_server_wait=max_server_wait,
        )
        # Imported here: aiohttp and the generated client (pydantic) stay out of
        # `from turnmeter import TurnUsage`.
        from turnmeter.generated import GeneratedClient
        from turnmeter.transport.http import AiohttpTransport

        self.transport: AiohttpTransport = AiohttpTransport(
            self.settings, session=session, limiter=rate_limiter, on_retry=on_retry
        )
        #: The generated client: one method per operation in queries/.
        # (cast: the transport's execute is overloaded on `decoder`; the generated protocol
        # names one signature that takes it or not.)
        self.operations: GeneratedClient = GeneratedClient(typing.cast(Any, self.transport))

    def __repr__(self) -> str:
        return (
            f"TurnUsage(account_tag={self.settings.account_tag!r}, "
            f"endpoint={self.settings.endpoint!r})"
        )

    async def _exit(self, exc: BaseException | None) -> None:
        # Leaving on an error or a cancellation (Ctrl-C) means nobody waits for the requests
        # still in flight: cancel them at once instead of granting them the close timeout.
        await self.close(grace=0.0 if exc is not None else None)

    async def close(self, *, grace: float | None = None) -> None:
        """Release the HTTP session (if turnmeter opened it).

        Requests in flight get ``grace`` seconds (default: the settings' close timeout) to
        finish before they are cancelled.
        """
        await self.transport.close(grace=grace)

    def for_account(self, account_tag: str) -> TurnUsage:
        """A client for another account over this one's transport.

        The copy shares the token, the HTTP session, the rate budget (Cloudflare's 300 queries
        per 5 minutes belong to the token, not the account), the cache and the concurrency cap;
        only the account tag and the node limits it reads differ. Close this client, not the
        copy (see :mod:`turnmeter.accounts` for one question over several accounts).
        """
        if not isinstance(account_tag, str) or not account_tag.isalnum():
            raise ConfigError("account tag must be the 32-character hexadecimal account id")
        copy = object.__new__(TurnUsage)
        copy.settings = dataclasses.replace(self.settings, account_tag=account_tag)
        copy.transport = self.transport
        copy.operations = self.operations
        return copy

    async def top_keys(
        self,
        since: datetime,
        until: datetime,
        *,
        limit: int = DEFAULT_TOP_LIMIT,
        order_by: OrderByInput = None,
        **filters: Unpack[FilterArgs],
    ) -> list[typed_rows.KeyUsage]:
        """TURN keys by egress (largest first unless ``order_by`` says otherwise).

        ``limit`` is the size of the ranking: at most that many rows, never paged. An answer
        with more rows than asked for raises :class:`MalformedResponse` (the same for every
        seed method): a server that ignored the limit is not trusted to have ranked either.
        """
        call = self.operations.top_keys_by_egress
        return await self._top("TopKeysByEgress", call, since, until, limit, order_by, filters)

    async def top_custom_identifiers(
        self,
        since: datetime,
        until: datetime,
        *,
        limit: int = DEFAULT_TOP_LIMIT,
        order_by: OrderByInput = None,
        **filters: Unpack[FilterArgs],
    ) -> list[typed_rows.CustomerUsage]:
        """Custom identifiers (your customers) by egress, largest first by default.

        ``limit`` is the size of the ranking, as in :meth:`top_keys`.
        """
        call = self.operations.top_custom_identifiers
        return await self._top("TopCustomIdentifiers", call, since, until, limit, order_by, filters)

    async def usage_for_custom_identifier(
        self,
        custom_identifier: str,
        since: datetime,
        until: datetime,
        *,
        limit: int | None = None,
        order_by: OrderByInput = None,
        **filters: Unpack[OtherFilterArgs],
    ) -> list[typed_rows.CustomerKeyUsage]:
        """One custom identifier's egress, per TURN key (by key id unless ``order_by`` says).

        Without ``limit`` every key comes back, paged past Cloudflare's 10,000-row page. With
        ``limit``, :class:`~turnmeter.errors.TruncatedResult` (holding the first ``limit``
        rows) says when more keys exist; the answer is never silently cut.
        """
        if not isinstance(custom_identifier, str) or not custom_identifier:
            raise ConfigError("custom_identifier must be a non-empty string")
        operations, tag = self.operations, self.settings.account_tag

        def call(filter_: Any, most: int, order: Any) -> Awaitable[list[Any]]:
            return operations.usage_for_custom_identifier(
                tag, custom_identifier, filter_, most, order
            )

        row = typed_rows.CustomerKeyUsage
        return await self._listed(PER_KEY, row, call, since, until, limit, order_by, filters)

    async def timeseries(
        self,
        since: datetime,
        until: datetime,
        *,
        limit: int | None = None,
        order_by: OrderByInput = None,
        **filters: Unpack[FilterArgs],
    ) -> list[typed_rows.SeriesPoint]:
        """Egress per minute, oldest first unless ``order_by`` says otherwise.

        Without ``limit`` every minute of the range comes back, paged by keyset past
        Cloudflare's 10,000-row page (a week of minutes is more than one page). With ``limit``,
        at most that many rows, and :class:`~turnmeter.errors.TruncatedResult` (holding the
        first ``limit`` rows in the order asked) when more exist: never a silent cut.
        """
        operations, tag = self.operations, self.settings.account_tag

        def call(filter_: Any, most: int, order: Any) -> Awaitable[list[Any]]:
            return operations.usage_timeseries(tag, filter_, most, order)

        row = typed_rows.SeriesPoint
        return await self._listed(SERIES, row, call, since, until, limit, order_by, filters)

    async def total(
        self, since: datetime, until: datetime, **filters: Unpack[FilterArgs]
    ) -> typed_rows.UsageTotals:
        """Egress and ingress over the whole range (zero when there was no usage)."""
        rows = await self.operations.usage_total(
            self.settings.account_tag, filter_variables(since, until, **filters), 1
        )
        rows = _trusted("UsageTotal", rows, 1)
        if not rows:
            return typed_rows.UsageTotals(egress_bytes=0, ingress_bytes=0)
        if len(rows) > 1:
            raise MalformedResponse("a total without dimensions came back as several rows")
        return rows[0]

    async def limits(self) -> typed_rows.DatasetLimits:
        """The TURN node's limits for this account (widest range, oldest data, largest page).

        A ``maxDuration`` or ``notOlderThan`` wider than ``timedelta.max`` reads as
        ``timedelta.max`` (no limit); impossible values (``maxPageSize`` below 1, say) raise
        :class:`MalformedResponse` naming the limit and its value.
        """
        result = await self._run(self.operations.turn_node_limits(self.settings.account_tag))
        node = _account(result).settings
        node = node.calls_turn_usage_adaptive_groups if node is not None else None
        if node is None:
            raise MalformedResponse("the response has no settings for callsTurnUsageAdaptiveGroups")
        # Range-checked: limits wider than any datetime range mean "unbounded", impossible
        # ones (a page of 0 rows) are a MalformedResponse naming the limit.
        from turnmeter.query.node_limits import dataset_limits

        return dataset_limits(node)

    async def _top(
        self,
        operation: str,
        call: Callable[..., Awaitable[list[T]]],
        since: datetime,
        until: datetime,
        limit: int,
        order_by: OrderByInput,
        filters: Mapping[str, Any],
    ) -> list[T]:
        # A ranking: one generated call, at most `limit` rows trusted.
        variables = filter_variables(since, until, **filters)
        rows = await call(self.settings.account_tag, variables, _limit(limit), _order(order_by))
        return _trusted(operation, rows, limit)

    async def _listed(
        self,
        listing: Listing,
        row: type[T],
        call: Callable[[Any, int, Any], Awaitable[list[T]]],
        since: datetime,
        until: datetime,
        limit: int | None,
        order_by: OrderByInput,
        filters: Mapping[str, Any],
    ) -> list[T]:
        # A listing: one generated call per page, under turnmeter.query.listing's rule.
        async def page(asked: dict[str, Any]) -> list[T]:
            rows = await call(asked["filter"], asked["limit"], _order(asked.get("orderBy")))
            return _trusted(listing.operation, rows, asked["limit"])

        base = {"filter": filter_variables(since, until, **filters)}
        most = None if limit is None else _limit(limit)
        return await collect(listing, page, row, base, most, order_by_values(order_by))

    async def _run(self, operation: Awaitable[T]) -> T:
        # The boundary for result validation: pydantic's errors become ours.
        import pydantic

        try:
            return await operation
        except pydantic.ValidationError as exc:
            raise MalformedResponse(_validation_summary(exc)) from None

    # --- The query DSL over any range (turnmeter.query, turnmeter.query.windows) -----------------

    #: The node limits, read once per client by :meth:`limits_cached`.
    _limits_cache: typed_rows.DatasetLimits | None = None

    @property
    def limits_known(self) -> bool:
        """Whether :meth:`limits_cached` has read the limits already (it then sends nothing)."""
        return self._limits_cache is not None

    async def limits_cached(self) -> typed_rows.DatasetLimits:
        """The node limits, read on first use and kept for the client's lifetime."""
        if self._limits_cache is None:
            self._limits_cache = await self.limits()
        return self._limits_cache

    async def query(
        self,
        query: Query,
        since: datetime,
        until: datetime,
        **options: Unpack[RunArgs],
    ) -> list[QueryRow]:
        """Run a :class:`~turnmeter.query.Query` over ``[since, until)``, however wide.

        The range is split into windows within ``maxDuration`` (``concurrency`` at a time),
        pages are followed by keyset, sums are merged across windows and the result is sorted
        and cut to ``query.limit``. A start older than ``notOlderThan`` is refused, or moved
        forward with ``clip=True``. ``concurrency`` windows (default 4) run at once;
        ``on_progress(windows_done, windows_total, rows)`` is called as pages arrive; ``clock``
        replaces the UTC wall clock (tests, fixed sandboxes).
        """
        from turnmeter.query.runner import RunOptions, run_query

        return await run_query(self, query, since, until, RunOptions(**options))

    def stream(
        self,
        query: Query,
        since: datetime,
        until: datetime,
        **options: Unpack[RunArgs],
    ) -> AsyncIterator[QueryRow]:
        """Rows of ``query`` window by window, oldest first, without holding the whole range.

        Needs each group inside one window (a time dimension selected, or a range within
        ``maxDuration``) and no ``order_by``; ``limit`` stops after that many rows. At most
        ``concurrency`` windows are held at once. Errors surface on iteration.
        """
        from turnmeter.query.runner import RunOptions, stream_query

        return stream_query(self, query, since, until, RunOptions(**options))


def _limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigError(f"limit must be a positive integer, got {limit!r}")
    return limit


def _order(order_by: OrderByInput) -> Any:
    # Without orderBy the operation's own default order applies: the variable is left unset.
    values = order_by_values(order_by)
    return _unset() if values is None else values


@functools.cache
def _unset() -> Any:
    from turnmeter.generated import UNSET

    return UNSET


def _trusted(operation: str, rows: list[T], limit: int) -> list[T]:
    if len(rows) > limit:
        # Trust no more rows than asked for: a server that ignores the limit cannot be
        # trusted to have ranked or filtered them either, and cutting would hide it.
        raise MalformedResponse(
            f"{operation} answered {len(rows)} rows for limit {limit}; "
            "the server ignored the limit, so none of its rows are trusted"
        )
    # A cached or shared answer is one list for every caller: each gets its own copy.
    return list(rows)


def _account(result: _HasAccounts) -> Any:
    viewer = result.viewer
    if viewer is None or not viewer.accounts:
        raise MalformedResponse("the response has no account (is the account tag right?)")
    return viewer.accounts[0]


def _validation_summary(exc: pydantic.ValidationError) -> str:
    problems = [
        f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()[:3]
    ]
    more = f" (and {exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
    return "response does not match the schema: " + "; ".join(problems) + more
