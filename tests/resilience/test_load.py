"""Bounded load on loopback: the budget, the concurrency cap and the guard hold under many tasks."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from tests.resilience.conftest import Stack, open_stack
from tests.usage_data import NOW
from turnmeter.budget import BudgetGuard
from turnmeter.transport.ratelimit import RateBudget

WINDOW = 0.25
CLIENT_LIMIT = 40
SERVER_LIMIT = 50  # a margin over the client's: arrival jitter must not trip the server
CONCURRENCY = 6


def brute_force_total(stack: Stack, since: Any, until: Any) -> int:
    return sum(r.egress_bytes for r in stack.sandbox.rows() if since <= r.minute < until)


async def test_200_distinct_queries_respect_budget_and_concurrency(config_with: Any) -> None:
    config = config_with(rate_limit=SERVER_LIMIT, rate_window=WINDOW)
    async for stack in open_stack(config):
        stack.sandbox.faults.latency = 0.005  # requests overlap, so the cap is exercised
        budget = RateBudget(limit=CLIENT_LIMIT, window=WINDOW)
        ranges = [
            (NOW - timedelta(hours=72) + timedelta(minutes=17 * i), NOW - timedelta(minutes=i))
            for i in range(200)
        ]
        async with stack.client(rate_budget=budget, max_concurrency=CONCURRENCY) as turn:
            results = await asyncio.gather(*(turn.total(a, b) for a, b in ranges))
            assert turn.transport.limiter is not None
            assert turn.transport.limiter.used() <= CLIENT_LIMIT
        assert stack.proxy.requests == 200
        assert stack.proxy.statuses[429] == 0
        assert 1 < stack.proxy.max_in_flight <= CONCURRENCY
        for (a, b), totals in zip(ranges, results, strict=True):
            assert totals.egress_bytes == brute_force_total(stack, a, b)


async def test_identical_concurrent_queries_share_one_request(stack: Stack) -> None:
    stack.sandbox.faults.latency = 0.02
    since = NOW - timedelta(days=1)
    async with stack.client() as turn:
        results = await asyncio.gather(*(turn.total(since, NOW) for _ in range(100)))
    assert len(set(results)) == 1
    assert stack.proxy.requests == 1


class FakeMonotonic:
    """The guard's own clock, advanced by hand (no sleeping in tests)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_1000_budget_checks_cost_one_query_per_interval(stack: Stack) -> None:
    stack.sandbox.faults.latency = 0.01
    clock = FakeMonotonic()
    async with (
        stack.client() as turn,
        BudgetGuard(
            turn, refresh_interval=60, decision_deadline=30, clock=lambda: NOW, monotonic=clock
        ) as guard,  # no slow machine misses it: this counts queries
    ):
        for interval in range(3):
            decisions = await asyncio.gather(*(guard.check(budget_usd=10) for _ in range(1000)))
            await guard.settled()  # a stale number is served while it refreshes in background
            assert all(d.allowed and d.reason == "under_budget" for d in decisions)
            assert stack.proxy.requests == interval + 1
            clock.now += 30  # half an interval: no new query
            await asyncio.gather(*(guard.check(budget_usd=10) for _ in range(1000)))
            await guard.settled()
            assert stack.proxy.requests == interval + 1
            clock.now += 30
    assert guard.queries == 3
