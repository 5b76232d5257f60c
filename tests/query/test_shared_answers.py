"""A cached or shared answer is read-only: each ``query()`` caller gets rows of its own."""

from __future__ import annotations

from datetime import timedelta

from tests.query.grid import NOW, START
from turnmeter import Query, TurnUsage
from turnmeter.sandbox import Sandbox
from turnmeter.transport.ratelimit import RateBudget

CLOCK = lambda: NOW  # noqa: E731


async def test_a_cached_answer_is_not_changed_by_what_a_caller_does(
    lifted_sandbox: Sandbox,
) -> None:
    query = Query(
        dimensions=("key_id",), metrics=("egress_bytes",), order_by=("-egress_bytes",), limit=3
    )
    since, until = START, START + timedelta(hours=6)
    async with TurnUsage(
        account_tag=lifted_sandbox.config.account_tag,
        api_token=lifted_sandbox.config.token,
        endpoint=lifted_sandbox.url,
        rate_budget=RateBudget(limit=None),
        cache_ttl=60,
    ) as turn:
        first = await turn.query(query, since, until, clock=CLOCK)
        expected = list(first)
        first.reverse()
        first.clear()
        again = await turn.query(query, since, until, clock=CLOCK)  # from the cache
    assert again == expected
    assert len(again) == 3
