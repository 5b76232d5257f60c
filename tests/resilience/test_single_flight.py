"""Single-flight: the leader runs in its caller's task, handovers when it is cancelled, close().

Identical concurrent calls share one request. The first caller (the leader) runs it in its own
task; callers that arrive meanwhile (followers) wait for its answer. Cancelling a caller never
costs the others their answer, and closing the client ends every caller of a cancelled request
with TransportError, never a bare CancelledError.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from tests.resilience.conftest import Stack
from tests.usage_data import NOW
from turnmeter import TransportError, TurnmeterError, TurnUsage
from turnmeter.sandbox import Fault
from turnmeter.transport.retry import RetryEvent

SINCE = NOW - timedelta(days=1)
#: Long enough that whatever the test does next lands while the request is still in flight.
SLOW = 0.5


async def until_in_flight(turn: TurnUsage, requests: int = 1) -> None:
    """Yield to the loop until ``requests`` distinct requests are in flight."""
    for _ in range(1000):
        if turn.transport.in_flight() >= requests:
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the request never started")


async def test_the_leader_runs_the_request_in_its_own_task(stack: Stack) -> None:
    # The retry hook is called from the retry loop: it sees the task the request runs in.
    seen: list[asyncio.Task[object] | None] = []

    def on_retry(event: RetryEvent) -> None:
        seen.append(asyncio.current_task())

    stack.sandbox.faults.push(Fault.status(503))
    async with stack.client(on_retry=on_retry) as turn:
        totals = await turn.total(SINCE, NOW)
    assert totals.egress_bytes > 0
    assert seen == [asyncio.current_task()]


async def test_a_cancelled_follower_does_not_cancel_the_shared_request(stack: Stack) -> None:
    stack.sandbox.faults.push(Fault.delay(SLOW))
    async with stack.client() as turn:
        leader = asyncio.create_task(turn.total(SINCE, NOW))
        await until_in_flight(turn)
        follower = asyncio.create_task(turn.total(SINCE, NOW))
        await asyncio.sleep(0.02)
        follower.cancel()
        totals = await leader
        with pytest.raises(asyncio.CancelledError):
            await follower
        assert turn.transport.in_flight() == 0
    assert totals.egress_bytes > 0
    assert stack.proxy.requests == 1


async def test_a_cancelled_leader_hands_the_request_over(stack: Stack) -> None:
    stack.sandbox.faults.push(Fault.delay(SLOW))
    async with stack.client() as turn:
        leader = asyncio.create_task(turn.total(SINCE, NOW))
        await until_in_flight(turn)
        followers = [asyncio.create_task(turn.total(SINCE, NOW)) for _ in range(2)]
        await asyncio.sleep(0.02)
        assert turn.transport.in_flight() == 1  # three callers, one request
        leader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await leader
        answers = await asyncio.gather(*followers)
        assert turn.transport.in_flight() == 0
    assert answers[0] == answers[1]
    assert answers[0].egress_bytes > 0
    # The cancelled leader's request may have reached the server: the handover sends it again.
    assert stack.proxy.requests == 2


async def test_a_lone_cancelled_leader_leaves_nothing_in_flight(stack: Stack) -> None:
    stack.sandbox.faults.push(Fault.delay(SLOW))
    async with stack.client() as turn:
        leader = asyncio.create_task(turn.total(SINCE, NOW))
        await until_in_flight(turn)
        leader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await leader
        assert turn.transport.in_flight() == 0
        assert (await turn.total(SINCE, NOW)).egress_bytes > 0  # the client still works
    assert stack.proxy.requests == 2


async def test_identical_calls_count_once_in_flight(stack: Stack) -> None:
    stack.sandbox.faults.latency = 0.1
    async with stack.client() as turn:
        calls = [turn.total(SINCE, NOW) for _ in range(3)]
        calls.append(turn.total(SINCE - timedelta(days=1), NOW))
        running = [asyncio.create_task(call) for call in calls]
        await until_in_flight(turn, 2)
        await asyncio.sleep(0.02)
        assert turn.transport.in_flight() == 2
        await asyncio.gather(*running)
    assert stack.proxy.requests == 2


async def test_close_cancels_the_leader_and_its_followers(stack: Stack) -> None:
    stack.sandbox.faults.latency = SLOW
    turn = stack.client()
    leader = asyncio.create_task(turn.total(SINCE, NOW))
    await until_in_flight(turn)
    follower = asyncio.create_task(turn.total(SINCE, NOW))
    await asyncio.sleep(0.02)
    await turn.close(grace=0.01)
    for caller in (leader, follower):
        with pytest.raises(TransportError, match="client closed"):
            await caller
    assert turn.transport.in_flight() == 0


async def test_close_leaves_the_leaders_task_usable(stack: Stack) -> None:
    stack.sandbox.faults.latency = SLOW
    turn = stack.client()

    async def caller() -> int:
        with pytest.raises(TransportError, match="client closed"):
            await turn.total(SINCE, NOW)
        # The close's cancellation was taken back: this task is not cancelled any more.
        task = asyncio.current_task()
        assert task is not None
        await asyncio.sleep(0)
        return task.cancelling()

    running = asyncio.create_task(caller())
    await until_in_flight(turn)
    await turn.close(grace=0.0)
    assert await running == 0


async def test_a_caller_cancelled_during_close_stays_cancelled(stack: Stack) -> None:
    stack.sandbox.faults.latency = SLOW
    turn = stack.client()
    leader = asyncio.create_task(turn.total(SINCE, NOW))
    await until_in_flight(turn)
    leader.cancel()  # its own cancellation, before close() cancels the request too
    await turn.close(grace=0.0)
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert turn.transport.in_flight() == 0


async def test_close_waits_for_a_handed_over_request(stack: Stack) -> None:
    stack.sandbox.faults.latency = 0.1
    turn = stack.client()
    leader = asyncio.create_task(turn.total(SINCE, NOW))
    await until_in_flight(turn)
    follower = asyncio.create_task(turn.total(SINCE, NOW))
    await asyncio.sleep(0.01)
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    await turn.close()  # the default grace (the close timeout) outlasts the latency
    assert (await follower).egress_bytes > 0
    assert turn.transport.in_flight() == 0


async def test_close_cancels_a_handed_over_request(stack: Stack) -> None:
    stack.sandbox.faults.latency = SLOW
    turn = stack.client()
    leader = asyncio.create_task(turn.total(SINCE, NOW))
    await until_in_flight(turn)
    follower = asyncio.create_task(turn.total(SINCE, NOW))
    await asyncio.sleep(0.01)
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    await turn.close(grace=0.01)
    with pytest.raises(TransportError, match="client closed"):
        await follower
    assert turn.transport.in_flight() == 0


async def test_a_failure_reaches_the_leader_and_its_followers(stack: Stack) -> None:
    stack.sandbox.faults.latency = 0.1
    stack.sandbox.faults.push(Fault.status(401))  # bad credentials: not retried
    async with stack.client() as turn:
        leader = asyncio.create_task(turn.total(SINCE, NOW))
        await until_in_flight(turn)
        follower = asyncio.create_task(turn.total(SINCE, NOW))
        results = await asyncio.gather(leader, follower, return_exceptions=True)
        assert turn.transport.in_flight() == 0
    assert all(isinstance(result, TurnmeterError) for result in results), results
    assert type(results[0]) is type(results[1])
    assert stack.proxy.requests == 1


async def test_two_closes_at_once_still_say_the_client_closed(stack: Stack) -> None:
    stack.sandbox.faults.latency = SLOW
    turn = stack.client()
    leader = asyncio.create_task(turn.total(SINCE, NOW))
    await until_in_flight(turn)
    await asyncio.gather(turn.close(grace=0.01), turn.transport.close(grace=0.01))
    with pytest.raises(TransportError, match="client closed"):
        await leader
    assert turn.transport.in_flight() == 0
