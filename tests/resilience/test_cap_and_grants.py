"""The concurrency cap and the rate budget's synchronous grant: the transport's fast path.

A free slot and an in-process budget with room are taken without awaiting; a full cap queues
callers first come first served, and a caller cancelled while queued holds no slot.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from tests.resilience.conftest import Stack
from tests.resilience.test_load import FakeMonotonic
from tests.usage_data import NOW
from turnmeter.transport.cap import ConcurrencyCap
from turnmeter.transport.ratelimit import RateBudget, RateLimiter, RateMode

SINCE = NOW - timedelta(days=1)


async def test_a_free_slot_is_taken_without_waiting() -> None:
    cap = ConcurrencyCap(2)
    assert cap.take_now()
    assert cap.take_now()
    assert not cap.take_now()
    cap.release()
    assert cap.free() == 1
    await cap.take()  # free: returns without suspending
    assert cap.free() == 0


async def test_a_full_cap_serves_waiters_in_arrival_order() -> None:
    cap = ConcurrencyCap(1)
    assert cap.take_now()
    order: list[int] = []

    async def wait(number: int) -> None:
        await cap.take()
        order.append(number)

    waiters = [asyncio.create_task(wait(n)) for n in range(3)]
    await asyncio.sleep(0)
    for _ in range(3):
        assert not cap.take_now()  # a newcomer never overtakes those waiting
        cap.release()
        await asyncio.sleep(0)
    await asyncio.gather(*waiters)
    assert order == [0, 1, 2]
    cap.release()
    assert cap.free() == 1


async def test_a_waiter_cancelled_in_the_queue_holds_no_slot() -> None:
    cap = ConcurrencyCap(1)
    assert cap.take_now()
    cancelled = asyncio.create_task(cap.take())
    kept = asyncio.create_task(cap.take())
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    cap.release()
    await kept  # the slot went past the cancelled waiter
    cap.release()
    assert cap.free() == 1


async def test_a_slot_handed_to_a_cancelled_waiter_is_passed_on() -> None:
    cap = ConcurrencyCap(1)
    assert cap.take_now()
    first = asyncio.create_task(cap.take())
    second = asyncio.create_task(cap.take())
    await asyncio.sleep(0)
    cap.release()  # the slot goes to first ...
    first.cancel()  # ... which is cancelled before it runs again
    with pytest.raises(asyncio.CancelledError):
        await first
    await second
    cap.release()
    assert cap.free() == 1


async def test_the_cap_bounds_what_the_server_sees(stack: Stack) -> None:
    stack.sandbox.faults.latency = 0.02
    async with stack.client(max_concurrency=3) as turn:
        days = [SINCE - timedelta(hours=i) for i in range(12)]
        await asyncio.gather(*(turn.total(since, NOW) for since in days))
    assert stack.proxy.requests == 12
    assert 1 < stack.proxy.max_in_flight <= 3


def test_an_in_process_budget_grants_at_once_while_it_has_room() -> None:
    clock = FakeMonotonic()
    limiter = RateLimiter(RateBudget(limit=3, window=10), clock=clock)
    assert limiter.acquire_now(2)
    assert not limiter.acquire_now(2)  # over the limit: nothing taken
    assert limiter.used() == 2
    assert limiter.acquire_now(1)
    assert not limiter.acquire_now(1)
    clock.now += 10
    assert limiter.acquire_now(3)  # the window moved on
    assert not limiter.acquire_now(4)  # can never fit: acquire() raises the ConfigError


async def test_a_paused_budget_grants_nothing_at_once() -> None:
    clock = FakeMonotonic()
    budget = RateBudget(limit=5, window=60, mode=RateMode.FAIL_FAST)
    limiter = RateLimiter(budget, clock=clock)
    limiter.pause(30)
    assert not limiter.acquire_now(1)
    assert limiter.used() == 0
    clock.now += 30
    assert limiter.acquire_now(1)


def test_a_shared_budget_is_never_granted_without_asking_its_store(tmp_path: Path) -> None:
    limiter = RateLimiter(RateBudget(limit=5, window=60, path=tmp_path / "budget.sqlite"))
    assert not limiter.acquire_now(1)
    assert limiter.used() == 0
