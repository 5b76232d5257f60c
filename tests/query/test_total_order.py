"""A top-N query asks the server for one total order: its ``order_by``, then the dimensions.

Groups that tie on the ordered metric would otherwise come back in whatever order the server
keeps ties in (Cloudflare does not say), and a window's top N could cut a tie differently from
the order the rows are returned in. The DSL sends the tie-breakers itself, so the first N are
one defined set; one window's answer is then already final.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from aiohttp import web

from tests.loopback import forward, serving
from tests.query.grid import NOW, START, TOKEN
from turnmeter import Query, TurnUsage
from turnmeter.sandbox import Sandbox
from turnmeter.transport.ratelimit import RateBudget

CLOCK = lambda: NOW  # noqa: E731


@asynccontextmanager
async def recording(target: str, orders: list[Any]) -> AsyncIterator[str]:
    """A proxy in front of ``target`` that records each request's ``orderBy``."""

    async def handle(request: web.Request) -> web.Response:
        raw, body = await forward(target, request)
        orders.append(json.loads(raw)["variables"].get("orderBy"))
        return web.json_response(body)

    app = web.Application()
    app.router.add_post("/graphql", handle)
    async with serving(app) as url:
        yield url


async def test_top_n_asks_for_the_order_with_its_tie_breakers(lifted_sandbox: Sandbox) -> None:
    orders: list[Any] = []
    query = Query(
        dimensions=("key_id", "datacenter_code"),
        metrics=("egress_bytes",),
        order_by=("-egress_bytes",),
        limit=4,
    )
    async with (
        recording(lifted_sandbox.url, orders) as url,
        TurnUsage(
            account_tag=lifted_sandbox.config.account_tag,
            api_token=TOKEN,
            endpoint=url,
            rate_budget=RateBudget(limit=None),
        ) as turn,
    ):
        rows = await turn.query(query, START, START + timedelta(hours=6), clock=CLOCK)
    assert ["sum_egressBytes_DESC", "keyId_ASC", "datacenterCode_ASC"] in orders
    assert len(rows) == 4
    # Largest first; ties (if any) by key, then datacenter: the order the server was asked for.
    keys = [(-row.egress_bytes, row.key_id, row.datacenter_code) for row in rows]
    assert keys == sorted(keys)
