"""BudgetGuard.check() answers within its decision deadline while Cloudflare hangs.

A gate of the test's own sits between the client and the sandbox: it accepts every GraphQL
request and holds it (no answer at all) until the test opens the gate, then forwards it. The
client's request timeout is a minute, so a check that waits for the refresh shows up as an
``asyncio.TimeoutError`` from ``wait_for`` long before that, not as a timing assertion.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

import aiohttp
import pytest
from aiohttp import web

from tests.loopback import serving
from tests.resilience.test_load import FakeMonotonic
from tests.usage_data import NOW
from turnmeter import TurnUsage
from turnmeter.budget import BudgetGuard, UnknownUsage
from turnmeter.sandbox import Sandbox
from turnmeter.transport.ratelimit import NO_RATE_BUDGET
from turnmeter.transport.retry import NO_RETRY

#: The client's request timeout: a hung refresh would hold a waiting check this long.
REQUEST_TIMEOUT = 60.0
#: How long a test lets check() take: far above the decision deadline, far below the timeout.
ANSWER_WITHIN = 5.0
FORWARDED = ("authorization", "content-type", "accept")
SESSION = web.AppKey("session", aiohttp.ClientSession)


@dataclass
class Gate:
    """Holds every request until ``open`` is set, then forwards it to ``target``."""

    target: str
    url: str = ""
    open: asyncio.Event = field(default_factory=asyncio.Event)
    received: int = 0  # requests that reached the gate (answered or not)
    arrival: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def reached(self, count: int) -> None:
        """Wait until ``count`` requests have reached the gate."""
        async with self.arrival:
            await asyncio.wait_for(self.arrival.wait_for(lambda: self.received >= count), 5)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        async with self.arrival:
            self.received += 1
            self.arrival.notify_all()
        await self.open.wait()  # hostile: accept, then say nothing
        headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED}
        async with request.app[SESSION].post(self.target, data=body, headers=headers) as upstream:
            payload = await upstream.read()
            return web.Response(
                status=upstream.status, body=payload, content_type=upstream.content_type
            )


@pytest.fixture
async def gate(sandbox: Sandbox) -> AsyncIterator[Gate]:
    gate = Gate(sandbox.url)
    app = web.Application()
    app[SESSION] = aiohttp.ClientSession()
    app.router.add_post("/graphql", gate.handle)
    try:
        async with serving(app) as gate.url:
            try:
                yield gate
            finally:
                gate.open.set()  # let held handlers finish so the runner shuts down at once
    finally:
        await app[SESSION].close()


def client(gate: Gate, sandbox: Sandbox) -> TurnUsage:
    return TurnUsage(
        account_tag=sandbox.config.account_tag,
        api_token=sandbox.config.token,
        endpoint=gate.url,
        timeout=REQUEST_TIMEOUT,
        retry=NO_RETRY,
        rate_budget=NO_RATE_BUDGET,
    )


def refresh_tasks() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if "_refresh_once" in repr(t.get_coro())]


@pytest.mark.parametrize(
    ("policy", "allowed"), [(UnknownUsage.FAIL_OPEN, True), (UnknownUsage.FAIL_CLOSED, False)]
)
async def test_cold_guard_answers_by_policy_while_cloudflare_hangs(
    gate: Gate, sandbox: Sandbox, policy: UnknownUsage, allowed: bool
) -> None:
    async with client(gate, sandbox) as turn:
        guard = BudgetGuard(turn, on_unknown=policy, clock=lambda: NOW)
        checks = [guard.check(budget_usd=10) for _ in range(20)]
        decisions = await asyncio.wait_for(asyncio.gather(*checks), ANSWER_WITHIN)
        for decision in decisions:
            assert (decision.allowed, decision.reason, decision.usage) == (allowed, "unknown", None)
            assert "decision deadline" in decision.detail
        await gate.reached(1)
        assert gate.received == 1  # twenty checks, one refresh in flight

        gate.open.set()  # Cloudflare answers the refresh that kept going in the background
        await asyncio.wait_for(guard.settled(), ANSWER_WITHIN)
        later = await asyncio.wait_for(guard.check(budget_usd=10), ANSWER_WITHIN)
        assert (later.allowed, later.reason) == (True, "under_budget")
        assert later.usage is not None
        assert later.usage.egress_bytes > 0
        assert later.usage.egress_bytes == (await guard.usage()).egress_bytes
        assert gate.received == 1
        await guard.stop()


@pytest.mark.parametrize(
    ("policy", "allowed"), [(UnknownUsage.FAIL_OPEN, True), (UnknownUsage.FAIL_CLOSED, False)]
)
async def test_stale_number_answers_within_the_deadline_while_it_refreshes(
    gate: Gate, sandbox: Sandbox, policy: UnknownUsage, allowed: bool
) -> None:
    clock = FakeMonotonic()
    async with client(gate, sandbox) as turn:
        guard = BudgetGuard(
            turn,
            refresh_interval=10,
            max_staleness=30,
            on_unknown=policy,
            clock=lambda: NOW,
            monotonic=clock,
        )
        gate.open.set()
        first = await asyncio.wait_for(guard.refresh(), ANSWER_WITHIN)
        gate.open.clear()  # from here on Cloudflare hangs

        clock.now += 20  # due for a refresh, still fresh enough: served from the number
        due = await asyncio.wait_for(guard.check(budget_usd=10), ANSWER_WITHIN)
        assert (due.allowed, due.reason, due.usage) == (True, "under_budget", due.usage)
        assert due.usage is not None
        assert due.usage.egress_bytes == first.egress_bytes
        await gate.reached(2)

        clock.now += 15  # older than max_staleness: unknown, answered by the policy, not waited
        stale = await asyncio.wait_for(guard.check(budget_usd=10), ANSWER_WITHIN)
        assert (stale.allowed, stale.reason, stale.usage) == (allowed, "unknown", None)
        assert "decision deadline" in stale.detail
        assert gate.received == 2  # still the one refresh from the due check

        gate.open.set()
        await asyncio.wait_for(guard.settled(), ANSWER_WITHIN)
        fresh = await asyncio.wait_for(guard.check(budget_usd=10), ANSWER_WITHIN)
        assert (fresh.allowed, fresh.reason) == (True, "under_budget")
        assert fresh.usage is not None
        assert fresh.usage.age == 15  # taken when the refresh began
        await guard.stop()


async def test_a_cancelled_check_leaves_the_refresh_running(gate: Gate, sandbox: Sandbox) -> None:
    async with client(gate, sandbox) as turn:
        # A deadline far beyond the test, so the check is still waiting when it is cancelled.
        guard = BudgetGuard(turn, decision_deadline=REQUEST_TIMEOUT, clock=lambda: NOW)
        waiting = asyncio.create_task(guard.check(budget_usd=10))
        await gate.reached(1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert len(refresh_tasks()) == 1
        gate.open.set()
        await asyncio.wait_for(guard.settled(), ANSWER_WITHIN)
        assert (await guard.check(budget_usd=10)).reason == "under_budget"
        assert gate.received == 1


async def test_stop_cancels_a_hung_refresh(gate: Gate, sandbox: Sandbox) -> None:
    async with client(gate, sandbox) as turn:
        async with BudgetGuard(turn, clock=lambda: NOW) as guard:
            decision = await asyncio.wait_for(guard.check(budget_usd=10), ANSWER_WITHIN)
            assert decision.reason == "unknown"
            await gate.reached(1)
            assert len(refresh_tasks()) == 1
        # Leaving the guard cancelled the refresh that was waiting on the hung server.
        assert refresh_tasks() == []
        assert guard.last_error is None
        # The client's own request (shared by single-flight) lives on until it closes; once the
        # server answers it, the cancelled refresh still delivers nothing.
        gate.open.set()
        await asyncio.sleep(0)
        after = await asyncio.wait_for(guard.check(budget_usd=10), ANSWER_WITHIN)
        assert (after.reason, guard.queries) == ("unknown", 1)
        await guard.stop()


async def test_a_crashed_refresh_is_kept_and_logged_without_the_token(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    # A broken clock is a bug outside turnmeter, not a TurnmeterError: the background task must
    # keep it for the decision and the log (never "Task exception was never retrieved").
    def broken_clock() -> datetime:
        raise RuntimeError("clock broke")

    async with TurnUsage(
        account_tag=sandbox.config.account_tag, api_token=sandbox.config.token, endpoint=sandbox.url
    ) as turn:
        guard = BudgetGuard(turn, clock=broken_clock, decision_deadline=REQUEST_TIMEOUT)
        decision = await asyncio.wait_for(guard.check(budget_usd=10), ANSWER_WITHIN)
        assert (decision.allowed, decision.reason) == (False, "unknown")
        assert guard.last_error is not None
        assert guard.last_error.startswith("RuntimeError")
        assert "RuntimeError" in decision.detail
        await guard.stop()
    assert "RuntimeError" in caplog.text
    assert sandbox.config.token not in caplog.text
