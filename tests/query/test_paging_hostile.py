"""Keyset pages must advance (issue 13, item 8).

A proxy of this test's own sits in front of a small-limits sandbox and rewrites the answers to
continuation pages: it repeats rows of the previous page. Summing them again would be silent
double counting; the runner refuses any page that does not start strictly after the previous
page's last row (or is not itself in the paging order), naming the keys.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web

from tests.loopback import forward, serving
from tests.query.grid import NOW, PAGE, START, TOKEN
from turnmeter import MalformedResponse, Query, TurnUsage
from turnmeter.sandbox import Sandbox
from turnmeter.transport.ratelimit import RateBudget

Groups = list[dict[str, Any]]
#: (previous page's groups, this page's groups) -> the groups to answer instead.
Rewrite = Callable[[Groups, Groups], Groups]

#: Two hours inside one 3 h window: one window, several pages of 25 (minute x key).
SINCE, UNTIL = START, START + timedelta(hours=2)
#: The grid's fixed clock (the sandbox's ``now``).
CLOCK = lambda: NOW  # noqa: E731
QUERY = Query(dimensions=("minute", "key_id"), metrics=("egress_bytes",))


def _groups(body: dict[str, Any]) -> Groups | None:
    try:
        groups = body["data"]["viewer"]["accounts"][0]["callsTurnUsageAdaptiveGroups"]
    except (KeyError, IndexError, TypeError):
        return None
    return groups if isinstance(groups, list) else None


@asynccontextmanager
async def rewriting_proxy(target: str, rewrite: Rewrite) -> AsyncIterator[str]:
    """Forwards to ``target``; continuation pages (a keyset in the filter) are rewritten."""
    previous: Groups = []

    async def handle(request: web.Request) -> web.Response:
        nonlocal previous
        raw, body = await forward(target, request)
        groups = _groups(body)
        continuation = "_gt" in json.dumps(json.loads(raw)["variables"].get("filter", {}))
        if groups is not None and continuation:
            body["data"]["viewer"]["accounts"][0]["callsTurnUsageAdaptiveGroups"] = rewrite(
                previous, groups
            )
        if groups is not None:
            previous = body["data"]["viewer"]["accounts"][0]["callsTurnUsageAdaptiveGroups"]
        return web.json_response(body)

    app = web.Application()
    app.router.add_post("/graphql", handle)
    async with serving(app) as url:
        yield url


@asynccontextmanager
async def client(small_sandbox: Sandbox, rewrite: Rewrite) -> AsyncIterator[TurnUsage]:
    async with (
        rewriting_proxy(small_sandbox.url, rewrite) as url,
        TurnUsage(
            account_tag=small_sandbox.config.account_tag,
            api_token=TOKEN,
            endpoint=url,
            rate_budget=RateBudget(limit=None),
        ) as turn,
    ):
        yield turn


def repeat_last(previous: Groups, page: Groups) -> Groups:
    # The previous page's last row again, first; the page keeps its size (paging goes on).
    return [previous[-1], *page[:-1]]


def repeat_middle(previous: Groups, page: Groups) -> Groups:
    return [previous[len(previous) // 2], *page[:-1]]


def shuffled(previous: Groups, page: Groups) -> Groups:
    # Starts after the previous page, but a row of the page itself sorts before its neighbour.
    return [page[0], page[2], page[1], *page[3:]]


async def test_the_reference_pages_through_the_proxy(small_sandbox: Sandbox) -> None:
    async with client(small_sandbox, lambda previous, page: page) as turn:
        rows = await turn.query(QUERY, SINCE, UNTIL, concurrency=1, clock=CLOCK)
    assert len(rows) > 2 * PAGE  # several pages, so the rewrites below happen


@pytest.mark.parametrize("rewrite", [repeat_last, repeat_middle], ids=["last", "middle"])
async def test_a_page_repeating_a_row_of_the_previous_is_refused(
    small_sandbox: Sandbox, rewrite: Rewrite
) -> None:
    async with client(small_sandbox, rewrite) as turn:
        with pytest.raises(MalformedResponse, match=r"does not start after") as caught:
            await turn.query(QUERY, SINCE, UNTIL, concurrency=1, clock=CLOCK)
    message = str(caught.value)
    assert "minute=" in message  # names the keys it compared
    assert "key_id=" in message
    assert "k-" in message


async def test_a_page_out_of_the_paging_order_is_refused(small_sandbox: Sandbox) -> None:
    async with client(small_sandbox, shuffled) as turn:
        with pytest.raises(MalformedResponse, match="not in the paging order"):
            await turn.query(QUERY, SINCE, UNTIL, concurrency=1, clock=CLOCK)


async def test_stream_refuses_overlapping_pages_too(small_sandbox: Sandbox) -> None:
    async with client(small_sandbox, repeat_last) as turn:
        with pytest.raises(MalformedResponse, match="does not start after"):
            async for _ in turn.stream(QUERY, SINCE, UNTIL, concurrency=1, clock=CLOCK):
                pass
