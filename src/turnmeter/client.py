"""The facade: ``TurnUsage``, an async client for Cloudflare Realtime TURN usage.

The generated package is reached through :mod:`turnmeter.generated`, the one door. Each seed
method checks its filter and ``orderBy`` arguments and writes them as the JSON the generated
input model and enum would dump to (:mod:`turnmeter.query.filters`,
:mod:`turnmeter.query.ordering`), sends its operation from ``queries/`` through the transport, and
has the answer decoded straight into small typed rows (:mod:`turnmeter.decode.compiled`,
:mod:`turnmeter.rows`). ``limits()`` goes through the generated client and its pydantic models;
``query()`` and ``stream()`` through the DSL (:mod:`turnmeter.query`).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Awaitable, Iterable
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar, Unpack

import aiohttp
import pydantic

from turnmeter.auth import Secret
from turnmeter.errors import ConfigError, MalformedResponse
from turnmeter.generated import GeneratedClient
from turnmeter.query.filters import FilterArgs, OtherFilterArgs, filter_variables
from turnmeter.query.listing import PER_KEY, SERIES, Listing, collect
from turnmeter.query.node_limits import dataset_limits
from turnmeter.query.ordering import OrderByArg, order_by_values
from turnmeter.rows import (
    CustomerKeyUsage,
    CustomerUsage,
    DatasetLimits,
    KeyUsage,
    SeriesPoint,
    UsageTotals,
)
from turnmeter.settings import ClientSettings, resolve_settings, with_resilience
from turnmeter.transport.http import AiohttpTransport
from turnmeter.transport.ratelimit import RateBudget, RateLimiter
from turnmeter.transport.retry import RetryHook, RetryPolicy

if typing.TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from turnmeter.query import Query, QueryRow
    from turnmeter.query.runner import ProgressCallback

#: Rows a top-N method returns unless told otherwise.
DEFAULT_TOP_LIMIT = 10

T = TypeVar("T")
OrderByInput = OrderByArg | Iterable[OrderByArg] | None


class _HasAccounts(Protocol):
    @property
    def viewer(self) -> Any: ...


class TurnUsage:
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
        self.transport = AiohttpTransport(
            self.settings, session=session, limiter=rate_limiter, on_retry=on_retry
        )
        self._operations = GeneratedClient(self.transport)

    def __repr__(self) -> str:
        return (
            f"TurnUsage(account_tag={self.settings.account_tag!r}, "
            f"endpoint={self.settings.endpoint!r})"
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
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
        copy._operations = self._operations
        return copy

    async def top_keys(
        self,
        since: datetime,
        until: datetime,
        *,
        limit: int = DEFAULT_TOP_LIMIT,
        order_by: OrderByInput = None,
        **filters: Unpack[FilterArgs],
    ) -> list[KeyUsage]:
        """TURN keys by egress (largest first unless ``order_by`` says otherwise).

        ``limit`` is the size of the ranking: at most that many rows, never paged. An answer
        with more rows than asked for raises :class:`MalformedResponse` (the same for every
        seed method): a server that ignored the limit is not trusted to have ranked either.
        """
        return await self._fast_rows(
            "TopKeysByEgress",
            _variables(filter_variables(since, until, **filters), limit, order_by),
            KeyUsage,
            ("dimensions.keyId", "sum.egressBytes"),
        )

    async def top_custom_identifiers(
        self,
        since: datetime,
        until: datetime,
        *,
        limit: int = DEFAULT_TOP_LIMIT,
        order_by: OrderByInput = None,
        **filters: Unpack[FilterArgs],
    ) -> list[CustomerUsage]:
        """Custom identifiers (your customers) by egress, largest first by default.

        ``limit`` is the size of the ranking, as in :meth:`top_keys`.
        """
        return await self._fast_rows(
            "TopCustomIdentifiers",
            _variables(filter_variables(since, until, **filters), limit, order_by),
            CustomerUsage,
            ("dimensions.customIdentifier", "sum.egressBytes"),
        )

    async def usage_for_custom_identifier(
        self,
        custom_identifier: str,
        since: datetime,
        until: datetime,
        *,
        limit: int | None = None,
        order_by: OrderByInput = None,
        **filters: Unpack[OtherFilterArgs],
    ) -> list[CustomerKeyUsage]:
        """One custom identifier's egress, per TURN key (by key id unless ``order_by`` says).

        Without ``limit`` every key comes back, paged past Cloudflare's 10,000-row page. With
        ``limit``, :class:`~turnmeter.errors.TruncatedResult` (holding the first ``limit``
        rows) says when more keys exist; the answer is never silently cut.
        """
        if not isinstance(custom_identifier, str) or not custom_identifier:
            raise ConfigError("custom_identifier must be a non-empty string")
        variables = {
            "filter": filter_variables(since, until, **filters),
            "customIdentifier": custom_identifier,
        }
        return await self._listing(PER_KEY, variables, CustomerKeyUsage, limit, order_by)

    async def timeseries(
        self,
        since: datetime,
        until: datetime,
        *,
        limit: int | None = None,
        order_by: OrderByInput = None,
        **filters: Unpack[FilterArgs],
    ) -> list[SeriesPoint]:
        """Egress per minute, oldest first unless ``order_by`` says otherwise.

        Without ``limit`` every minute of the range comes back, paged by keyset past
        Cloudflare's 10,000-row page (a week of minutes is more than one page). With ``limit``,
        at most that many rows, and :class:`~turnmeter.errors.TruncatedResult` (holding the
        first ``limit`` rows in the order asked) when more exist: never a silent cut.
        """
        variables = {"filter": filter_variables(since, until, **filters)}
        return await self._listing(SERIES, variables, SeriesPoint, limit, order_by)

    async def total(
        self, since: datetime, until: datetime, **filters: Unpack[FilterArgs]
    ) -> UsageTotals:
        """Egress and ingress over the whole range (zero when there was no usage)."""
        rows = await self._fast_rows(
            "UsageTotal",
            {"filter": filter_variables(since, until, **filters), "limit": 1},
            UsageTotals,
            ("sum.egressBytes", "sum.ingressBytes"),
        )
        if not rows:
            return UsageTotals(egress_bytes=0, ingress_bytes=0)
        if len(rows) > 1:
            raise MalformedResponse("a total without dimensions came back as several rows")
        return rows[0]

    async def limits(self) -> DatasetLimits:
        """The TURN node's limits for this account (widest range, oldest data, largest page).

        A ``maxDuration`` or ``notOlderThan`` wider than ``timedelta.max`` reads as
        ``timedelta.max`` (no limit); impossible values (``maxPageSize`` below 1, say) raise
        :class:`MalformedResponse` naming the limit and its value.
        """
        result = await self._run(self._operations.turn_node_limits(self.settings.account_tag))
        node = _account(result).settings
        node = node.calls_turn_usage_adaptive_groups if node is not None else None
        if node is None:
            raise MalformedResponse("the response has no settings for callsTurnUsageAdaptiveGroups")
        # Range-checked: limits wider than any datetime range mean "unbounded", impossible
        # ones (a page of 0 rows) are a MalformedResponse naming the limit.
        return dataset_limits(node)

    async def _listing(
        self,
        listing: Listing,
        variables: dict[str, Any],
        row: type[T],
        limit: int | None,
        order_by: OrderByInput,
    ) -> list[T]:
        # Every row, or at most `limit` and a TruncatedResult when more exist
        # (turnmeter.query.listing).
        order = order_by_values(order_by)
        checked = None if limit is None else _limit(limit)

        async def fetch(asked: dict[str, Any]) -> list[T]:
            return await self._fast_rows(listing.operation, asked, row, listing.paths)

        return await collect(listing, fetch, row, variables, checked, order)

    async def _fast_rows(
        self, operation: str, variables: dict[str, Any], row: type[T], fields: tuple[str, ...]
    ) -> list[T]:
        # The fast path (turnmeter.decode.compiled): the operation text of
        # queries/<operation>.graphql, its groups checked and built straight into rows inside the
        # transport's attempt (the decoder is the one strict type walk). The generated client's
        # method for the same operation (pydantic models) is the slow path; tests/decode holds them
        # equal.
        plan = _FAST_PLANS.get((operation, row, fields))
        if plan is None:
            plan = _FAST_PLANS[operation, row, fields] = _fast_plan(operation, row, fields)
        query, decoder = plan
        # The seed methods pass JSON-ready variables (filters.filter_variables, _variables):
        # what dump_variables would make of the generated models, without building them.
        variables = {"accountTag": self.settings.account_tag, **variables}
        rows = await self.transport.execute(query, operation, variables, decoder=decoder)
        if len(rows) > variables["limit"]:
            # Trust no more rows than asked for: a server that ignores the limit cannot be
            # trusted to have ranked or filtered them either, and cutting would hide it.
            raise MalformedResponse(
                f"{operation} answered {len(rows)} rows for limit {variables['limit']}; "
                "the server ignored the limit, so none of its rows are trusted"
            )
        # A cached or shared answer is one list for every caller: each gets its own copy.
        return list(rows)

    async def _run(self, operation: Awaitable[T]) -> T:
        # The boundary for result validation: pydantic's errors become ours.
        try:
            return await operation
        except pydantic.ValidationError as exc:
            raise MalformedResponse(_validation_summary(exc)) from None

    # --- The query DSL over any range (turnmeter.query, turnmeter.query.windows) -----------------

    #: The node limits, read once per client by :meth:`limits_cached`.
    _limits_cache: DatasetLimits | None = None

    @property
    def limits_known(self) -> bool:
        """Whether :meth:`limits_cached` has read the limits already (it then sends nothing)."""
        return self._limits_cache is not None

    async def limits_cached(self) -> DatasetLimits:
        """The node limits, read on first use and kept for the client's lifetime."""
        if self._limits_cache is None:
            self._limits_cache = await self.limits()
        return self._limits_cache

    async def query(
        self,
        query: Query,
        since: datetime,
        until: datetime,
        *,
        clip: bool = False,
        concurrency: int | None = None,
        on_progress: ProgressCallback | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> list[QueryRow]:
        """Run a :class:`~turnmeter.query.Query` over ``[since, until)``, however wide.

        The range is split into windows within ``maxDuration`` (``concurrency`` at a time),
        pages are followed by keyset, sums are merged across windows and the result is sorted
        and cut to ``query.limit``. A start older than ``notOlderThan`` is refused, or moved
        forward with ``clip=True``. ``concurrency`` windows (default 4) run at once;
        ``on_progress(windows_done, windows_total, rows)`` is called as pages arrive; ``clock``
        replaces the UTC wall clock (tests, fixed sandboxes).
        """
        from turnmeter.query.runner import run_query

        return await run_query(
            self,
            query,
            since,
            until,
            clip=clip,
            concurrency=concurrency,
            on_progress=on_progress,
            clock=clock,
        )

    def stream(
        self,
        query: Query,
        since: datetime,
        until: datetime,
        *,
        clip: bool = False,
        concurrency: int | None = None,
        on_progress: ProgressCallback | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> AsyncIterator[QueryRow]:
        """Rows of ``query`` window by window, oldest first, without holding the whole range.

        Needs each group inside one window (a time dimension selected, or a range within
        ``maxDuration``) and no ``order_by``; ``limit`` stops after that many rows. At most
        ``concurrency`` windows are held at once. Errors surface on iteration.
        """
        from turnmeter.query.runner import stream_query

        return stream_query(
            self,
            query,
            since,
            until,
            clip=clip,
            concurrency=concurrency,
            on_progress=on_progress,
            clock=clock,
        )


#: (operation, row type, fields) -> (operation text, compiled decoder), built on first use.
_FAST_PLANS: dict[tuple[str, type[Any], tuple[str, ...]], tuple[str, Any]] = {}


def _fast_plan(operation: str, row: type[Any], fields: tuple[str, ...]) -> tuple[str, Any]:
    # Imported here: the decoder stack (msgspec, graphql-core) stays out of `import turnmeter`.
    from turnmeter.decode.compiled import decoder_for
    from turnmeter.decode.shapes import operation_text

    query = operation_text(operation)
    return query, decoder_for(query, operation, row, fields)


def _limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigError(f"limit must be a positive integer, got {limit!r}")
    return limit


def _variables(filter_: Any, limit: int, order_by: OrderByInput) -> dict[str, Any]:
    # Without orderBy the operation's own default order applies (as in the generated client).
    # Enums go as their values: _fast_rows sends these variables as they are.
    values = order_by_values(order_by)
    variables = {"filter": filter_, "limit": _limit(limit)}
    if values is not None:
        variables["orderBy"] = [value.value for value in values]
    return variables


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
