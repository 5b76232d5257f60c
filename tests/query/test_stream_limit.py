"""``stream(limit=...)`` stops reading where it stops yielding.

The limit is how many rows the caller wants, not a page size: no page asks for more rows than
are still wanted, and a limit over ``maxPageSize`` pages as an unlimited stream does.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from tests.loopback import forward, serving
from tests.query.grid import NOW, PAGE, START
from turnmeter import Query, TurnUsage
from turnmeter.sandbox import Sandbox
from turnmeter.transport.ratelimit import RateBudget

CLOCK = lambda: NOW  # noqa: E731
QUERY = Query(dimensions=("minute", "key_id"), metrics=("egress_bytes",))


@asynccontextmanager
async def counting(sandbox: Sandbox, limits: list[int]) -> AsyncIterator[TurnUsage]:
    """A client whose requests pass a proxy recording each usage request's ``limit``."""

    async def handle(request: web.Request) -> web.Response:
        raw, body = await forward(sandbox.url, request)
        variables = json.loads(raw)["variables"]
        if "filter" in variables:
            limits.append(variables["limit"])
        return web.json_response(body)

    app = web.Application()
    app.router.add_post("/graphql", handle)
    async with (
        serving(app) as url,
        TurnUsage(
            account_tag=sandbox.config.account_tag,
            api_token=sandbox.config.token,
            endpoint=url,
            rate_budget=RateBudget(limit=None),
        ) as turn,
    ):
        yield turn


async def rows_of(turn: TurnUsage, query: Query) -> list[Any]:
    return [row async for row in turn.stream(query, START, NOW, clock=CLOCK, concurrency=1)]


async def test_a_small_limit_asks_no_page_bigger_than_itself(small_sandbox: Sandbox) -> None:
    limits: list[int] = []
    async with counting(small_sandbox, limits) as turn:
        everything = await rows_of(turn, QUERY)
        limits.clear()
        first = await rows_of(turn, dataclasses.replace(QUERY, limit=7))
    assert first == everything[:7]
    assert limits
    assert max(limits) == 7 < PAGE


async def test_a_limit_over_the_page_size_pages_like_no_limit(small_sandbox: Sandbox) -> None:
    limits: list[int] = []
    async with counting(small_sandbox, limits) as turn:
        everything = await rows_of(turn, QUERY)
        wanted = PAGE * 2 + 5
        first = await rows_of(turn, dataclasses.replace(QUERY, limit=wanted))
    assert len(everything) > wanted
    assert first == everything[:wanted]
