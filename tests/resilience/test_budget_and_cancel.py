"""The rate budget (memory and SQLite), costs per document, the cache, cancellation and close."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from tests.resilience.conftest import Stack
from tests.resilience.test_load import FakeMonotonic
from tests.usage_data import NOW
from turnmeter import ConfigError, RateLimited, TransportError
from turnmeter.decode.documents import document_facts
from turnmeter.resources import query_text
from turnmeter.transport.cache import with_age
from turnmeter.transport.classify import classify_failure
from turnmeter.transport.ratelimit import RateBudget, RateLimiter, RateMode, SQLiteStore

SINCE = NOW - timedelta(days=1)


def operation(name: str) -> str:
    return query_text(name)


def test_cost_counts_dataset_nodes_not_the_limits_node() -> None:
    assert document_facts(operation("UsageTotal"), "UsageTotal").cost == 1
    assert document_facts(operation("TurnNodeLimits"), "TurnNodeLimits").cost == 1
    two = """query Two($a: string!, $f: AccountCallsTurnUsageAdaptiveGroupsFilter_InputObject!) {
      viewer { accounts(filter: {accountTag: $a}) {
        x: callsTurnUsageAdaptiveGroups(filter: $f, limit: 1) { ...S }
        y: callsTurnUsageAdaptiveGroups(filter: $f, limit: 1) { ...S }
        settings { callsTurnUsageAdaptiveGroups { maxPageSize } }
      } } }
      fragment S on AccountCallsTurnUsageAdaptiveGroups { sum { egressBytes } }"""
    facts = document_facts(two, "Two")
    assert facts.cost == 2
    assert document_facts("query {", None).cost == 1  # the server will refuse it


async def test_fail_fast_says_when_a_slot_frees() -> None:
    clock = FakeMonotonic()
    limiter = RateLimiter(RateBudget(limit=3, window=10, mode=RateMode.FAIL_FAST), clock=clock)
    await limiter.acquire(2)
    clock.now += 4
    await limiter.acquire(1)
    with pytest.raises(RateLimited) as caught:
        await limiter.acquire(1)
    assert caught.value.retry_after == pytest.approx(6)
    assert caught.value.status is None
    clock.now += 6
    await limiter.acquire(2)  # the first grant left the window
    assert limiter.used() == 3
    with pytest.raises(ConfigError):
        await limiter.acquire(4)


async def test_waiting_callers_are_never_over_the_budget() -> None:
    limiter = RateLimiter(RateBudget(limit=5, window=0.05))
    granted: list[float] = []

    async def take() -> None:
        await limiter.acquire(1)
        granted.append(asyncio.get_running_loop().time())
        assert limiter.used() <= 5

    await asyncio.gather(*(take() for _ in range(20)))
    assert len(granted) == 20


async def test_cancelled_waiter_takes_no_grant() -> None:
    clock = FakeMonotonic()
    limiter = RateLimiter(RateBudget(limit=1, window=60), clock=clock)
    await limiter.acquire(1)
    waiter = asyncio.create_task(limiter.acquire(1))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert limiter.used() == 1


def test_sqlite_budget_is_shared_and_exact_across_threads(tmp_path: Path) -> None:
    budget = RateBudget(limit=25, window=60, path=tmp_path / "budget.sqlite")
    stores = [SQLiteStore(budget, tmp_path / "budget.sqlite") for _ in range(4)]
    granted = [0] * 4

    def worker(index: int) -> None:
        for _ in range(20):
            granted[index] += stores[index].take(1, 1000.0) == 0

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 25
    assert stores[0].take(1, 1061.0) == 0  # the window moved on


async def test_sqlite_limiter_pauses_every_process(tmp_path: Path) -> None:
    budget = RateBudget(limit=5, window=60, mode=RateMode.FAIL_FAST, path=tmp_path / "b.db")
    clock = FakeMonotonic()
    first, second = RateLimiter(budget, clock=clock), RateLimiter(budget, clock=clock)
    await first.acquire(1)
    first.pause(30)
    with pytest.raises(RateLimited) as caught:
        await second.acquire(1)
    assert caught.value.retry_after == pytest.approx(30)
    assert second.used() == 1


async def test_cache_answers_carry_their_age(stack: Stack) -> None:
    async with stack.client(cache_ttl=60) as turn:
        fresh = await with_age(turn.total(SINCE, NOW))
        again = await with_age(turn.total(SINCE, NOW))
        forced = await with_age(turn.total(SINCE, NOW), max_age=0)
    assert (fresh.cached, again.cached, forced.cached) == (False, True, False)
    assert fresh.value == again.value == forced.value
    assert again.age >= 0
    assert stack.proxy.requests == 2


# Cancelling one of several identical callers: tests/resilience/test_single_flight.py.


async def test_close_waits_for_requests_in_flight(stack: Stack) -> None:
    stack.sandbox.faults.latency = 0.05
    turn = stack.client()
    pending = asyncio.create_task(turn.total(SINCE, NOW))
    await asyncio.sleep(0.01)
    await turn.close()
    assert (await pending).egress_bytes > 0


async def test_close_cancels_what_outlives_the_grace_period(stack: Stack) -> None:
    stack.sandbox.faults.latency = 0.3
    turn = stack.client()
    pending = asyncio.create_task(turn.total(SINCE, NOW))
    await asyncio.sleep(0.01)
    await turn.transport.close(grace=0.01)
    with pytest.raises(TransportError, match="client closed"):
        await pending
    assert turn.transport.in_flight() == 0


def test_retry_after_header_wins_over_the_message() -> None:
    from turnmeter.errors import GraphQLErrorDetail

    detail = [GraphQLErrorDetail("rate limiter budget depleted, try again after 5 minutes")]
    limited = classify_failure(429, detail, {"retry-after": "7"})
    assert isinstance(limited, RateLimited)
    assert limited.retry_after == 7
    dated = classify_failure(429, [], {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert isinstance(dated, RateLimited)
    assert dated.retry_after == 0  # a date in the past: retry now
