"""``SfuUsage``: the Realtime SFU's usage (``callsUsageAdaptiveGroups``) beside TURN's.

It rides on a :class:`~turnmeter.TurnUsage`: the same account, credentials, transport, rate
budget, cache and concurrency cap, so TURN and SFU questions share the token's 300 queries per
5 minutes. Every method is one operation of ``queries/Sfu*.graphql`` through the generated
client (:mod:`turnmeter.generated`, the one door); each dataset is always asked for in a request
of its own, so a dataset the token may not read never nulls the other::

    async with TurnUsage() as turn:
        sfu = SfuUsage(turn)
        month = await sfu.total(since, until)               # UsageTotals
        apps = await sfu.top_apps(since, until, limit=5)    # [AppUsage]
        rows = await sfu.query(Query(dimensions=["track_type"], dataset=SFU), since, until)

Filters: ``app_id``, ``session_id``, ``track_id``, ``track_type`` (one value or several). The
SFU has no ``avg`` block: SFU queries have sums only.
"""

from __future__ import annotations

import typing
from collections.abc import Awaitable, Iterable
from datetime import datetime
from typing import Any, TypedDict, TypeVar, Unpack, cast

import pydantic

from turnmeter.client import DEFAULT_TOP_LIMIT, TurnUsage, _account, _limit, _validation_summary
from turnmeter.errors import ConfigError, MalformedResponse, QueryError

# The SFU's rows are the generated package's (frozen, slotted; decoded by the decoders the
# generator wrote for queries/SfuTopApps.graphql and queries/SfuUsageTimeseries.graphql).
from turnmeter.generated import AppUsage as AppUsage
from turnmeter.generated import SfuFilterInput, SfuOrderBy
from turnmeter.generated import SfuSeriesPoint as SfuSeriesPoint
from turnmeter.query.datasets import SFU, Dataset
from turnmeter.query.filters import OneOrMany, dimension_conditions, time_range
from turnmeter.query.listing import Listing, collect
from turnmeter.query.node_limits import dataset_limits
from turnmeter.rows import DatasetLimits, UsageTotals

if typing.TYPE_CHECKING:
    pass

T = TypeVar("T")
SfuOrderByArg = SfuOrderBy | str


class SfuFilterArgs(TypedDict, total=False):
    """Optional SFU filters: one value, or several (an ``_in``)."""

    app_id: OneOrMany
    session_id: OneOrMany
    track_id: OneOrMany
    track_type: OneOrMany  # "audio", "video"


#: SfuFilterArgs keyword -> SFU dimension name.
SFU_FILTER_DIMENSIONS = {
    "app_id": "appId",
    "session_id": "sessionId",
    "track_id": "trackId",
    "track_type": "trackType",
}


#: The SFU series as a listing (paged by minute past Cloudflare's largest page).
SFU_SERIES = Listing(
    "SfuUsageTimeseries",
    ("dimensions.datetimeMinute", "sum.egressBytes", "sum.ingressBytes"),
    ("dimensions.datetimeMinute",),
)


class SfuUsage:
    """Async reader of one account's Realtime SFU usage, over a :class:`TurnUsage`'s transport.

    Closing is the ``TurnUsage``'s business: an ``SfuUsage`` owns nothing.
    """

    #: The dataset this client's :meth:`query` asks (the DSL runner checks it).
    dataset: Dataset = SFU

    def __init__(self, turn: TurnUsage) -> None:
        if not isinstance(turn, TurnUsage):
            raise ConfigError(f"SfuUsage needs a TurnUsage, got {type(turn).__name__}")
        self.turn = turn
        self.settings = turn.settings
        self.transport = turn.transport
        self._operations = turn.operations  # the generated client over the same transport
        self._limits_cache: DatasetLimits | None = None

    def __repr__(self) -> str:
        return f"SfuUsage(account_tag={self.settings.account_tag!r})"

    @property
    def account_tag(self) -> str:
        return self.settings.account_tag

    async def total(
        self, since: datetime, until: datetime, **filters: Unpack[SfuFilterArgs]
    ) -> UsageTotals:
        """SFU egress and ingress over the whole range (zero when there was no usage)."""
        rows = await self._operations.sfu_usage_total(
            self.account_tag, _filter_json(since, until, dict(filters)), 1
        )
        _within_limit("SfuUsageTotal", len(rows), 1)
        if not rows:
            return UsageTotals(egress_bytes=0, ingress_bytes=0)
        return UsageTotals(rows[0].egress_bytes, rows[0].ingress_bytes)

    async def top_apps(
        self,
        since: datetime,
        until: datetime,
        *,
        limit: int = DEFAULT_TOP_LIMIT,
        order_by: SfuOrderByArg | Iterable[SfuOrderByArg] | None = None,
        **filters: Unpack[SfuFilterArgs],
    ) -> list[AppUsage]:
        """SFU apps by egress (largest first unless ``order_by`` says otherwise)."""
        limit = _limit(limit)
        order = sfu_order_by(order_by)
        rows: list[AppUsage] = await self._operations.sfu_top_apps(
            self.account_tag,
            _filter_json(since, until, dict(filters)),
            limit,
            **({} if order is None else {"order_by": order}),
        )
        _within_limit("SfuTopApps", len(rows), limit)
        return rows

    async def timeseries(
        self,
        since: datetime,
        until: datetime,
        *,
        limit: int | None = None,
        order_by: SfuOrderByArg | Iterable[SfuOrderByArg] | None = None,
        **filters: Unpack[SfuFilterArgs],
    ) -> list[SfuSeriesPoint]:
        """SFU egress and ingress per minute, oldest first unless ``order_by`` says otherwise.

        The rule of :meth:`TurnUsage.timeseries`: without ``limit`` every minute (paged past
        Cloudflare's largest page); with it at most that many rows and
        :class:`~turnmeter.errors.TruncatedResult` when more exist.
        """
        checked = None if limit is None else _limit(limit)
        variables = {"filter": _filter_json(since, until, dict(filters))}

        async def fetch(asked: dict[str, Any]) -> list[SfuSeriesPoint]:
            order = [SfuOrderBy(value) for value in asked.get("orderBy") or ()]
            rows: list[SfuSeriesPoint] = await self._operations.sfu_usage_timeseries(
                self.account_tag,
                asked["filter"],
                asked["limit"],
                **({"order_by": order} if order else {}),
            )
            _within_limit("SfuUsageTimeseries", len(rows), asked["limit"])
            return rows

        order = cast(Any, sfu_order_by(order_by))
        return await collect(SFU_SERIES, fetch, SfuSeriesPoint, variables, checked, order)

    async def limits(self) -> DatasetLimits:
        """The SFU node's limits for this account (widest range, oldest data, largest page)."""
        result = await self._run(self._operations.sfu_node_limits(self.account_tag))
        node = _account(result).settings
        node = node.calls_usage_adaptive_groups if node is not None else None
        if node is None:
            raise MalformedResponse("the response has no settings for callsUsageAdaptiveGroups")
        return dataset_limits(node)

    async def limits_cached(self) -> DatasetLimits:
        """The SFU node limits, read on first use and kept for the client's lifetime."""
        if self._limits_cache is None:
            self._limits_cache = await self.limits()
        return self._limits_cache

    # The DSL methods are TurnUsage's own: the runner asks its host for the transport, the
    # account, the cached node limits and the dataset, which this client answers for the SFU.
    query = TurnUsage.query
    stream = TurnUsage.stream

    async def _run(self, operation: Awaitable[T]) -> T:
        try:
            return await operation
        except pydantic.ValidationError as exc:
            raise MalformedResponse(_validation_summary(exc)) from None


def sfu_filter(since: datetime, until: datetime, **filters: Any) -> SfuFilterInput:
    """The generated SFU filter input for a time range and :class:`SfuFilterArgs`."""
    return SfuFilterInput.model_validate(_filter_json(since, until, filters))


def _filter_json(since: datetime, until: datetime, filters: dict[str, Any]) -> dict[str, Any]:
    start, end = time_range(since, until)
    fields: dict[str, Any] = {"datetimeMinute_geq": _z(start), "datetimeMinute_lt": _z(end)}
    fields.update(dimension_conditions(filters, SFU_FILTER_DIMENSIONS, "SFU filter"))
    return fields


def _z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def sfu_order_by(
    order_by: SfuOrderByArg | Iterable[SfuOrderByArg] | None,
) -> list[SfuOrderBy] | None:
    """The SFU ``orderBy`` enum list: members, their names, or friendly names (``"-egress"``,
    ``"app_id"``, ``"minute"``); None keeps the operation's default order."""
    if order_by is None:
        return None
    items = [order_by] if isinstance(order_by, SfuOrderBy | str) else list(order_by)
    order: list[SfuOrderBy] = []
    for item in items:
        if isinstance(item, SfuOrderBy):
            order.append(item)
        elif isinstance(item, str) and item in SfuOrderBy.__members__:
            order.append(SfuOrderBy[item])
        elif isinstance(item, str):
            try:
                spec = SFU.lookup(item.removeprefix("-"))
            except QueryError as exc:
                raise ConfigError(str(exc)) from None
            order.append(SFU.order_value(spec, item.startswith("-")))
        else:
            raise ConfigError(f"order_by items must be strings or SfuOrderBy, got {item!r}")
    return order


def _within_limit(operation: str, rows: int, limit: int) -> None:
    if rows > limit:
        raise MalformedResponse(
            f"{operation} answered {rows} rows for limit {limit}; "
            "the server ignored the limit, so none of its rows are trusted"
        )
