"""Seed methods never look complete when they are not (issue 13, item 5).

* ``timeseries()`` and ``usage_for_custom_identifier()`` without a ``limit`` return every row,
  paged by keyset past Cloudflare's 10,000-row page; with an explicit ``limit`` that more rows
  exceed they raise :class:`TruncatedResult` (carrying the first ``limit`` rows).
* A server that answers more rows than the ``limit`` asked for is refused (MalformedResponse).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from tests.conftest import CANARY_TOKEN
from tests.loopback import serving
from turnmeter import (
    CustomerKeyUsage,
    MalformedResponse,
    OrderBy,
    SeriesPoint,
    TruncatedResult,
    TurnUsage,
)
from turnmeter.sandbox import Sandbox, SandboxConfig, UsageRow
from turnmeter.transport.ratelimit import RateBudget

NOW = datetime(2024, 8, 10, 0, 0, tzinfo=UTC)
#: 7.5 days of minutes: more than one 10,000-row page.
SERIES_START = NOW - timedelta(days=7, hours=12)
MINUTES = int((NOW - SERIES_START).total_seconds()) // 60
#: One customer with more TURN keys than a small explicit limit.
KEYS = 30


def series_rows() -> list[UsageRow]:
    rows = []
    for index in range(MINUTES):
        rows.append(
            UsageRow(
                minute=SERIES_START + timedelta(minutes=index),
                key_id=f"key-{index % KEYS:02d}",
                username="u",
                custom_identifier="big-customer",
                datacenter_city="Frankfurt",
                datacenter_code="FRA",
                datacenter_country="DE",
                datacenter_region="EEUR",
                egress_bytes=1_000 + index,
                ingress_bytes=1,
                concurrent_connections=1,
            )
        )
    return rows


@pytest.fixture(scope="module")
async def series_sandbox() -> AsyncIterator[Sandbox]:
    config = SandboxConfig(token=CANARY_TOKEN, now=NOW, rows=series_rows(), rate_limit=None)
    async with Sandbox(config) as server:
        yield server


@pytest.fixture
async def turn(series_sandbox: Sandbox) -> AsyncIterator[TurnUsage]:
    async with TurnUsage(
        account_tag=series_sandbox.config.account_tag,
        api_token=CANARY_TOKEN,
        endpoint=series_sandbox.url,
        rate_budget=RateBudget(limit=None),
    ) as client:
        yield client


def expected_series() -> list[SeriesPoint]:
    return [SeriesPoint(r.minute, r.egress_bytes) for r in series_rows()]


async def test_timeseries_without_limit_returns_the_newest_minutes(turn: TurnUsage) -> None:
    got = await turn.timeseries(SERIES_START, NOW)
    assert MINUTES > 10_000
    assert got == expected_series()
    assert got[-1].minute == NOW - timedelta(minutes=1)


async def test_timeseries_without_limit_keeps_the_order_asked(turn: TurnUsage) -> None:
    got = await turn.timeseries(SERIES_START, NOW, order_by="-egress")
    assert got == sorted(expected_series(), key=lambda p: -p.egress_bytes)
    newest_first = await turn.timeseries(SERIES_START, NOW, order_by=OrderBy.datetimeMinute_DESC)
    assert newest_first == expected_series()[::-1]


async def test_timeseries_explicit_limit_reached_is_a_typed_error(turn: TurnUsage) -> None:
    with pytest.raises(TruncatedResult, match="10000") as caught:
        await turn.timeseries(SERIES_START, NOW, limit=10_000)
    assert caught.value.limit == 10_000
    assert caught.value.rows == expected_series()[:10_000]
    with pytest.raises(TruncatedResult, match="100"):
        await turn.timeseries(SERIES_START, NOW, limit=100)


async def test_timeseries_explicit_limit_in_another_order_keeps_the_servers_top(
    turn: TurnUsage,
) -> None:
    with pytest.raises(TruncatedResult) as caught:
        await turn.timeseries(SERIES_START, NOW, limit=3, order_by="-egress")
    assert caught.value.rows == expected_series()[::-1][:3]


async def test_explicit_limit_not_reached_is_complete(turn: TurnUsage) -> None:
    got = await turn.timeseries(NOW - timedelta(minutes=100), NOW, limit=100)
    assert got == expected_series()[-100:]
    assert len(await turn.timeseries(SERIES_START, NOW, limit=MINUTES)) == MINUTES


async def test_usage_for_custom_identifier_limit(turn: TurnUsage) -> None:
    every = await turn.usage_for_custom_identifier("big-customer", SERIES_START, NOW)
    assert sorted(u.key_id for u in every) == [f"key-{i:02d}" for i in range(KEYS)]
    with pytest.raises(TruncatedResult) as caught:
        await turn.usage_for_custom_identifier("big-customer", SERIES_START, NOW, limit=5)
    assert len(caught.value.rows) == 5
    assert all(isinstance(row, CustomerKeyUsage) for row in caught.value.rows)
    exact = await turn.usage_for_custom_identifier("big-customer", SERIES_START, NOW, limit=KEYS)
    assert len(exact) == KEYS


# --- A server that ignores the limit ---------------------------------------------------------

Answer = Callable[[dict[str, Any]], dict[str, Any]]


@asynccontextmanager
async def hostile(answer: Answer) -> AsyncIterator[str]:
    """A loopback GraphQL server of this test's own: ``answer(request body) -> response body``."""

    async def handle(request: web.Request) -> web.Response:
        return web.json_response(answer(await request.json()))

    app = web.Application()
    app.router.add_post("/graphql", handle)
    async with serving(app) as url:
        yield url


def groups(body: dict[str, Any], count: int) -> dict[str, Any]:
    """``count`` groups shaped for whichever seed operation ``body`` asks."""
    operation = body["operationName"]
    rows: list[dict[str, Any]] = []
    for index in range(count):
        minute = SERIES_START + timedelta(minutes=index)
        dimensions = {
            "TopKeysByEgress": {"keyId": f"k{index}"},
            "TopCustomIdentifiers": {"customIdentifier": f"c{index}"},
            "UsageTimeseries": {"datetimeMinute": minute.strftime("%Y-%m-%dT%H:%M:%SZ")},
            "UsageForCustomIdentifier": {"keyId": f"k{index:02d}", "customIdentifier": "c"},
        }[operation]
        rows.append({"dimensions": dimensions, "sum": {"egressBytes": 10_000 - index}})
    return {"data": {"viewer": {"accounts": [{"callsTurnUsageAdaptiveGroups": rows}]}}}


def client(url: str) -> TurnUsage:
    return TurnUsage(
        account_tag="0" * 32, api_token=CANARY_TOKEN, endpoint=url, rate_budget=RateBudget(None)
    )


async def test_top_keys_trusts_no_more_rows_than_asked() -> None:
    seen: list[int] = []

    def fifty(body: dict[str, Any]) -> dict[str, Any]:
        seen.append(body["variables"]["limit"])
        return groups(body, 50)

    async with hostile(fifty) as url, client(url) as turn:
        with pytest.raises(MalformedResponse, match=r"50 rows.*limit 5") as caught:
            await turn.top_keys(SERIES_START, NOW, limit=5)
        with pytest.raises(MalformedResponse, match="limit 3"):
            await turn.top_custom_identifiers(SERIES_START, NOW, limit=3)
    assert seen == [5, 3]  # a top-N asks for exactly N: its limit is the ranking's size
    assert CANARY_TOKEN not in str(caught.value)


@pytest.mark.parametrize("method", ["timeseries", "usage_for_custom_identifier"])
async def test_listings_trust_no_more_rows_than_asked(method: str) -> None:
    async with hostile(lambda body: groups(body, 50)) as url, client(url) as turn:
        call = getattr(turn, method)
        args = ("c",) if method == "usage_for_custom_identifier" else ()
        with pytest.raises(MalformedResponse, match="50 rows"):
            await call(*args, SERIES_START, NOW, limit=5)


async def test_a_server_answering_the_same_page_again_is_refused() -> None:
    # Paging on without a limit: a server that ignores the keyset filter must not loop or
    # double-count; the second page does not start after the first page's last row.
    bodies: list[str] = []

    def same_page(body: dict[str, Any]) -> dict[str, Any]:
        bodies.append(json.dumps(body["variables"]["filter"]))
        return groups(body, body["variables"]["limit"])

    async with hostile(same_page) as url, client(url) as turn:
        with pytest.raises(MalformedResponse, match="after"):
            await turn.timeseries(SERIES_START, NOW)
    assert len(bodies) == 2
    assert "datetimeMinute_gt" in bodies[1]


# --- A full page that reaches the range's last minute ---------------------------------------


def _series_answering(seen: list[dict[str, Any]], minutes: int) -> Answer:
    """A series server of ``minutes`` rows from SERIES_START that honours limit and keyset."""

    def answer(body: dict[str, Any]) -> dict[str, Any]:
        variables = body["variables"]
        seen.append(variables)
        after = "AND" in variables["filter"]
        return groups(body, 0 if after else min(minutes, variables["limit"]))

    return answer


@pytest.mark.parametrize("limit", [None, 10_000])
@pytest.mark.parametrize("end", [timedelta(0), -timedelta(seconds=30)])
async def test_a_full_page_reaching_the_last_minute_of_the_range_is_the_last_page(
    limit: int | None, end: timedelta
) -> None:
    # 10,000 minutes fill one page, and no minute of the range comes after its last row: the
    # page after cannot hold a row, so it is not asked for.
    seen: list[dict[str, Any]] = []
    until = SERIES_START + timedelta(minutes=10_000) + end
    async with hostile(_series_answering(seen, 10_000)) as url, client(url) as turn:
        got = await turn.timeseries(SERIES_START, until, limit=limit)
    assert [point.minute for point in got] == [
        SERIES_START + timedelta(minutes=index) for index in range(10_000)
    ]
    assert len(seen) == 1


@pytest.mark.parametrize("extra", [timedelta(seconds=30), timedelta(minutes=1)])
async def test_a_full_page_short_of_the_ranges_last_minute_asks_the_page_after(
    extra: timedelta,
) -> None:
    # Half a minute more is one more minute the range can hold a row in.
    seen: list[dict[str, Any]] = []
    until = SERIES_START + timedelta(minutes=10_000) + extra
    async with hostile(_series_answering(seen, 10_000)) as url, client(url) as turn:
        assert len(await turn.timeseries(SERIES_START, until)) == 10_000
        assert len(await turn.timeseries(SERIES_START, until, limit=10_000)) == 10_000
    assert ["AND" in asked["filter"] for asked in seen] == [False, True, False, True]
    assert seen[3]["limit"] == 1  # limit + 1 rows tell whether more exist


async def test_a_series_over_exactly_one_page_of_minutes_is_whole(turn: TurnUsage) -> None:
    # Against the sandbox: the early stop returns the same rows as paging on would.
    until = SERIES_START + timedelta(minutes=10_000)
    assert await turn.timeseries(SERIES_START, until) == expected_series()[:10_000]
    assert await turn.timeseries(SERIES_START, until, limit=10_000) == expected_series()[:10_000]
