"""Type-valid but extreme node limits from the server (issue 13, item 6, node-limit part).

A proxy of this test's own forwards to the sandbox and rewrites the ``settings`` answer. Limits
wider than any datetime range are clamped to "unbounded" (they bound nothing); values no
account can have (a page of 0 rows, a negative duration) are a MalformedResponse naming the
limit and its value. Nothing escapes as OverflowError or IndexError.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web

from tests.conftest import CANARY_TOKEN
from tests.loopback import forward, serving
from tests.usage_data import NOW, START
from turnmeter import MalformedResponse, Query, TurnUsage
from turnmeter.sandbox import Sandbox
from turnmeter.transport.ratelimit import RateBudget


@asynccontextmanager
async def limits_proxy(target: str, **node: Any) -> AsyncIterator[str]:
    """Forwards to ``target``; the TurnNodeLimits answer gets ``node``'s values."""

    async def handle(request: web.Request) -> web.Response:
        raw, body = await forward(target, request)
        if json.loads(raw).get("operationName") == "TurnNodeLimits":
            account = body["data"]["viewer"]["accounts"][0]
            account["settings"]["callsTurnUsageAdaptiveGroups"].update(node)
        return web.json_response(body)

    app = web.Application()
    app.router.add_post("/graphql", handle)
    async with serving(app) as url:
        yield url


@asynccontextmanager
async def client(sandbox: Sandbox, **node: Any) -> AsyncIterator[TurnUsage]:
    async with (
        limits_proxy(sandbox.url, **node) as url,
        TurnUsage(
            account_tag=sandbox.config.account_tag,
            api_token=CANARY_TOKEN,
            endpoint=url,
            rate_budget=RateBudget(limit=None),
        ) as turn,
    ):
        yield turn


QUERY = Query(dimensions=("key_id",))


async def test_a_huge_max_duration_means_unbounded(sandbox: Sandbox) -> None:
    async with client(sandbox, maxDuration=10**14) as turn:
        limits = await turn.limits()
        assert limits.max_duration == timedelta.max
        rows = await turn.query(QUERY, START, NOW, clock=lambda: NOW)
    async with client(sandbox) as plain:
        assert rows == await plain.query(QUERY, START, NOW, clock=lambda: NOW)


async def test_a_huge_not_older_than_means_any_age(sandbox: Sandbox) -> None:
    async with client(sandbox, notOlderThan=10**15) as turn:
        limits = await turn.limits()
        assert limits.not_older_than == timedelta.max
        rows = await turn.query(QUERY, START, NOW, clock=lambda: NOW)
    assert rows


@pytest.mark.parametrize(
    ("node", "named"),
    [
        ({"maxPageSize": 0}, "maxPageSize"),
        ({"maxPageSize": -1}, "maxPageSize"),
        ({"maxDuration": 0}, "maxDuration"),
        ({"maxDuration": -(10**14)}, "maxDuration"),
        ({"notOlderThan": -5}, "notOlderThan"),
        ({"notOlderThan": -(10**15)}, "notOlderThan"),
        ({"maxNumberOfFields": 0}, "maxNumberOfFields"),
    ],
)
async def test_impossible_limits_are_a_malformed_response(
    sandbox: Sandbox, node: dict[str, int], named: str
) -> None:
    (value,) = node.values()
    async with client(sandbox, **node) as turn:
        with pytest.raises(MalformedResponse, match=named) as caught:
            await turn.limits()
        assert str(value) in str(caught.value)
        with pytest.raises(MalformedResponse, match=named):
            await turn.query(QUERY, START, NOW, clock=lambda: NOW)
