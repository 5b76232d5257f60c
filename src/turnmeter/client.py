"""The facade: ``TurnUsage``, an async client for Cloudflare Realtime TURN usage.

Only this layer imports the generated package. Each method composes the filter and ``orderBy``
(:mod:`turnmeter.filters`, :mod:`turnmeter.ordering`), runs one generated operation through
the transport, and turns the validated result into small rows (:mod:`turnmeter.rows`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar, Unpack

import aiohttp
import pydantic
from cf_analytics import Client as GeneratedClient

from turnmeter.auth import Secret
from turnmeter.errors import ConfigError, MalformedResponse
from turnmeter.filters import FilterArgs, OtherFilterArgs, compose_filter
from turnmeter.ordering import OrderByArg, order_by_values
from turnmeter.rows import (
    CustomerKeyUsage,
    CustomerUsage,
    DatasetLimits,
    KeyUsage,
    SeriesPoint,
    UsageTotals,
)
from turnmeter.settings import ClientSettings, resolve_settings
from turnmeter.transport import AiohttpTransport

#: Rows a top-N method returns unless told otherwise.
DEFAULT_TOP_LIMIT = 10
#: Rows a listing (per-key usage, series) returns unless told otherwise: Cloudflare's usual page.
DEFAULT_PAGE_LIMIT = 10_000

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
    ) -> None:
        self.settings = settings or resolve_settings(
            account_tag=account_tag, api_token=api_token, endpoint=endpoint, timeout=timeout
        )
        self.transport = AiohttpTransport(self.settings, session=session)
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
        await self.close()

    async def close(self) -> None:
        """Release the HTTP session (if turnmeter opened it)."""
        await self.transport.close()

    async def top_keys(
        self,
        since: datetime,
        until: datetime,
        *,
        limit: int = DEFAULT_TOP_LIMIT,
        order_by: OrderByInput = None,
        **filters: Unpack[FilterArgs],
    ) -> list[KeyUsage]:
        """TURN keys by egress (largest first unless ``order_by`` says otherwise)."""
        result = await self._run(
            self._operations.top_keys_by_egress(
                self.settings.account_tag,
                compose_filter(since, until, **filters),
                _limit(limit),
                **_order(order_by),
            )
        )
        return [KeyUsage(g.dimensions.key_id, g.sum.egress_bytes) for g in _groups(result)]

    async def top_custom_identifiers(
        self,
        since: datetime,
        until: datetime,
        *,
        limit: int = DEFAULT_TOP_LIMIT,
        order_by: OrderByInput = None,
        **filters: Unpack[FilterArgs],
    ) -> list[CustomerUsage]:
        """Custom identifiers (your customers) by egress, largest first by default."""
        result = await self._run(
            self._operations.top_custom_identifiers(
                self.settings.account_tag,
                compose_filter(since, until, **filters),
                _limit(limit),
                **_order(order_by),
            )
        )
        return [
            CustomerUsage(g.dimensions.custom_identifier, g.sum.egress_bytes)
            for g in _groups(result)
        ]

    async def usage_for_custom_identifier(
        self,
        custom_identifier: str,
        since: datetime,
        until: datetime,
        *,
        limit: int = DEFAULT_PAGE_LIMIT,
        order_by: OrderByInput = None,
        **filters: Unpack[OtherFilterArgs],
    ) -> list[CustomerKeyUsage]:
        """One custom identifier's egress, per TURN key."""
        if not isinstance(custom_identifier, str) or not custom_identifier:
            raise ConfigError("custom_identifier must be a non-empty string")
        result = await self._run(
            self._operations.usage_for_custom_identifier(
                self.settings.account_tag,
                custom_identifier,
                compose_filter(since, until, **filters),
                _limit(limit),
                **_order(order_by),
            )
        )
        return [
            CustomerKeyUsage(
                g.dimensions.custom_identifier, g.dimensions.key_id, g.sum.egress_bytes
            )
            for g in _groups(result)
        ]

    async def timeseries(
        self,
        since: datetime,
        until: datetime,
        *,
        limit: int = DEFAULT_PAGE_LIMIT,
        order_by: OrderByInput = None,
        **filters: Unpack[FilterArgs],
    ) -> list[SeriesPoint]:
        """Egress per minute, oldest first by default."""
        result = await self._run(
            self._operations.usage_timeseries(
                self.settings.account_tag,
                compose_filter(since, until, **filters),
                _limit(limit),
                **_order(order_by),
            )
        )
        return [
            SeriesPoint(g.dimensions.datetime_minute, g.sum.egress_bytes) for g in _groups(result)
        ]

    async def total(
        self, since: datetime, until: datetime, **filters: Unpack[FilterArgs]
    ) -> UsageTotals:
        """Egress and ingress over the whole range (zero when there was no usage)."""
        result = await self._run(
            self._operations.usage_total(
                self.settings.account_tag, compose_filter(since, until, **filters), limit=1
            )
        )
        groups = _groups(result)
        if not groups:
            return UsageTotals(egress_bytes=0, ingress_bytes=0)
        if len(groups) > 1:
            raise MalformedResponse("a total without dimensions came back as several rows")
        return UsageTotals(groups[0].sum.egress_bytes, groups[0].sum.ingress_bytes)

    async def limits(self) -> DatasetLimits:
        """The TURN node's limits for this account (widest range, oldest data, largest page)."""
        result = await self._run(self._operations.turn_node_limits(self.settings.account_tag))
        node = _account(result).settings
        node = node.calls_turn_usage_adaptive_groups if node is not None else None
        if node is None:
            raise MalformedResponse("the response has no settings for callsTurnUsageAdaptiveGroups")
        return DatasetLimits(
            enabled=node.enabled,
            available_fields=tuple(node.available_fields),
            max_duration=timedelta(seconds=node.max_duration),
            max_number_of_fields=node.max_number_of_fields,
            max_page_size=node.max_page_size,
            not_older_than=timedelta(seconds=node.not_older_than),
        )

    async def _run(self, operation: Awaitable[T]) -> T:
        # The boundary for result validation: pydantic's errors become ours.
        try:
            return await operation
        except pydantic.ValidationError as exc:
            raise MalformedResponse(_validation_summary(exc)) from None


def _limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigError(f"limit must be a positive integer, got {limit!r}")
    return limit


def _order(order_by: OrderByInput) -> dict[str, Any]:
    values = order_by_values(order_by)
    return {} if values is None else {"order_by": values}


def _account(result: _HasAccounts) -> Any:
    viewer = result.viewer
    if viewer is None or not viewer.accounts:
        raise MalformedResponse("the response has no account (is the account tag right?)")
    return viewer.accounts[0]


def _groups(result: _HasAccounts) -> Sequence[Any]:
    groups: Sequence[Any] = _account(result).calls_turn_usage_adaptive_groups
    for group in groups:
        if group.sum is None or (hasattr(group, "dimensions") and group.dimensions is None):
            raise MalformedResponse("a TURN usage row lacks its sum or dimensions")
    return groups


def _validation_summary(exc: pydantic.ValidationError) -> str:
    problems = [
        f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()[:3]
    ]
    more = f" (and {exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
    return "response does not match the schema: " + "; ".join(problems) + more
