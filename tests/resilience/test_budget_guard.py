"""BudgetGuard: month-to-date numbers, cost, policies for unknown usage, staleness, rollover."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.conftest import CANARY_TOKEN
from tests.resilience.conftest import Stack
from tests.resilience.test_load import FakeMonotonic
from tests.usage_data import KEYS, NOW
from turnmeter import BudgetUnknown, ConfigError, TurnUsage
from turnmeter.budget import BudgetGuard, UnknownUsage, month_start
from turnmeter.cli import main
from turnmeter.sandbox import Fault, Sandbox
from turnmeter.transport.retry import NO_RETRY


def month_egress(stack: Stack, **match: str) -> int:
    start = month_start(NOW)
    return sum(
        r.egress_bytes
        for r in stack.sandbox.rows()
        if start <= r.minute < NOW and all(getattr(r, k) == v for k, v in match.items())
    )


async def test_month_to_date_for_account_key_and_customer(stack: Stack) -> None:
    async with stack.client() as turn:
        for scope, match in [
            ({}, {}),
            ({"key_id": KEYS[1]}, {"key_id": KEYS[1]}),
            ({"custom_identifier": "tango"}, {"custom_identifier": "tango"}),
        ]:
            guard = BudgetGuard(turn, clock=lambda: NOW, **scope)  # type: ignore[arg-type]
            usage = await guard.usage()
            assert usage.egress_bytes == month_egress(stack, **match) > 0
            assert usage.month_start == datetime(2024, 8, 1, tzinfo=UTC)
            assert usage.gigabytes == Decimal(usage.egress_bytes) / Decimal(10**9)


async def test_cost_after_the_free_tier(stack: Stack) -> None:
    async with stack.client() as turn:
        guard = BudgetGuard(turn, free_tier_gb=0, price_per_gb="0.05", clock=lambda: NOW)
        usage = await guard.usage()
        assert usage.cost_usd == Decimal(usage.egress_bytes) / 10**9 * Decimal("0.05")
        assert (await guard.check(usage.cost_usd)).reason == "over_budget"
        assert await guard.over_budget(usage.cost_usd)
        assert not await guard.over_budget(usage.cost_usd + Decimal("0.01"))
        free = BudgetGuard(turn, clock=lambda: NOW)  # 1000 GB free: this sandbox costs nothing
        assert (await free.usage()).cost_usd == 0
    assert guard.cost_of(2_000 * 10**9) == Decimal(100)
    assert free.cost_of(1_500 * 10**9) == Decimal(25)


@pytest.mark.parametrize(
    ("policy", "allowed"), [(UnknownUsage.FAIL_OPEN, True), (UnknownUsage.FAIL_CLOSED, False)]
)
async def test_unknown_usage_follows_the_policy(
    stack: Stack, policy: UnknownUsage, allowed: bool
) -> None:
    stack.sandbox.faults.push(Fault.status(500))
    async with stack.client(retry=NO_RETRY) as turn:
        guard = BudgetGuard(turn, on_unknown=policy, clock=lambda: NOW)
        decision = await guard.check(budget_usd=1)
        assert (decision.allowed, decision.reason, decision.usage) == (allowed, "unknown", None)
        assert await guard.over_budget(1) is not allowed
        with pytest.raises(BudgetUnknown, match="ServerError") as caught:
            await guard.usage()
    assert CANARY_TOKEN not in str(caught.value)


async def test_stale_number_becomes_unknown_and_failure_keeps_it_until_then(stack: Stack) -> None:
    clock = FakeMonotonic()
    async with stack.client(retry=NO_RETRY) as turn:
        guard = BudgetGuard(
            turn,
            refresh_interval=10,
            max_staleness=30,
            decision_deadline=30,  # about staleness: checks wait for each refresh's outcome
            clock=lambda: NOW,
            monotonic=clock,
        )
        first = await guard.usage()
        assert first.age == 0
        stack.sandbox.faults.push(*[Fault.status(500)] * 3)
        clock.now += 20  # due for a refresh, which fails: the old number is still served
        assert (await guard.check(100)).reason == "under_budget"
        await guard.settled()
        assert guard.last_error is not None
        assert (await guard.usage()).age == 20
        clock.now += 11  # older than max_staleness; the next refresh fails too
        decision = await guard.check(100)
        assert (decision.allowed, decision.reason) == (False, "unknown")
        stack.sandbox.faults.clear()
        clock.now += 10
        assert (await guard.check(100)).reason == "under_budget"


async def test_month_rollover_never_reports_last_month(stack: Stack) -> None:
    now = [NOW]
    clock = FakeMonotonic()
    async with stack.client() as turn:
        guard = BudgetGuard(turn, refresh_interval=3600, clock=lambda: now[0], monotonic=clock)
        august = await guard.usage()
        assert august.egress_bytes > 0
        now[0] = datetime(2024, 9, 1, 0, 0, 30, tzinfo=UTC)
        clock.now += 1  # well within the refresh interval: the month change still refreshes
        september = await guard.usage()
        assert september.month_start == datetime(2024, 9, 1, tzinfo=UTC)
        assert september.egress_bytes == 0  # the sandbox has no September traffic
        now[0] = datetime(2024, 9, 1, tzinfo=UTC)  # the very first instant: nothing to ask
        assert guard.queries == 2


async def test_background_refresh_runs_and_stops(stack: Stack) -> None:
    async with stack.client() as turn:
        async with BudgetGuard(turn, refresh_interval=0.02, clock=lambda: NOW) as guard:
            while guard.queries < 3:
                await guard.settled()
                await __import__("asyncio").sleep(0.01)
        count = guard.queries
        assert "scope" in repr(guard)
    assert guard.queries == count


async def test_guard_arguments_are_checked(stack: Stack) -> None:
    async with stack.client() as turn:
        with pytest.raises(ConfigError):
            BudgetGuard(turn, key_id="a", custom_identifier="b")
        with pytest.raises(ConfigError):
            BudgetGuard(turn, refresh_interval=0)


BAD_SECONDS = [0, -1, float("nan"), float("inf"), "5", None, True]
BAD_AMOUNTS = [float("nan"), float("inf"), -1, "abc", "", None, True, [1]]
BAD_ARGUMENTS = [
    *[("refresh_interval", value) for value in BAD_SECONDS],
    *[("max_staleness", value) for value in BAD_SECONDS],
    *[("decision_deadline", value) for value in BAD_SECONDS],
    *[("price_per_gb", value) for value in BAD_AMOUNTS if value is not None],
    *[("free_tier_gb", value) for value in BAD_AMOUNTS if value is not None],
    ("key_id", ""),
    ("key_id", 7),
    ("custom_identifier", ""),
    ("on_unknown", "fail_open"),
    ("clock", "now"),
    ("monotonic", 1.0),
]


@pytest.mark.parametrize(("name", "value"), BAD_ARGUMENTS)
async def test_every_bad_constructor_argument_is_a_config_error_naming_it(
    turn: TurnUsage, name: str, value: object
) -> None:
    with pytest.raises(ConfigError, match=name):
        BudgetGuard(turn, **{name: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("budget", BAD_AMOUNTS)
async def test_a_bad_budget_is_a_config_error_and_sends_nothing(
    stack: Stack, budget: object
) -> None:
    async with stack.client() as turn:
        guard = BudgetGuard(turn, clock=lambda: NOW)
        with pytest.raises(ConfigError, match="budget_usd"):
            await guard.check(budget)  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="budget_usd"):
            await guard.over_budget(budget)  # type: ignore[arg-type]
    assert stack.proxy.requests == 0


async def test_good_arguments_of_every_accepted_type(turn: TurnUsage) -> None:
    guard = BudgetGuard(
        turn, refresh_interval=1, max_staleness=2.5, decision_deadline=0.1, clock=lambda: NOW
    )
    assert (guard.refresh_interval, guard.max_staleness, guard.decision_deadline) == (1, 2.5, 0.1)
    for budget in (10, 10.5, "10.25", Decimal("1E+3"), 0):
        assert (await guard.check(budget)).budget_usd == Decimal(str(budget))


def test_month_start_is_utc() -> None:
    from datetime import timezone

    local = datetime(2024, 9, 1, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    assert month_start(local) == datetime(2024, 8, 1, tzinfo=UTC)


async def test_cli_and_guard_agree_at_below_and_above_the_cost(
    turn: TurnUsage,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TURNMETER_SANDBOX_TOKEN", CANARY_TOKEN)  # what --sandbox URL sends
    monkeypatch.setenv("TURNMETER_SANDBOX_URL", sandbox.url)
    monkeypatch.delenv("TURNMETER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent-turnmeter-test")
    guard = BudgetGuard(turn, free_tier_gb=0, clock=lambda: NOW)
    cost = (await guard.refresh()).cost_usd
    assert cost > 0
    argv = ["budget", "--sandbox", "--now", NOW.isoformat(), "--free-tier-gb", "0", "--format=json"]
    for budget, over in [
        (cost - Decimal("0.01"), True),
        (cost, True),
        (cost + Decimal("0.01"), False),
    ]:
        # The CLI runs its own event loop: on a thread, while this loop serves the sandbox.
        code = await asyncio.to_thread(main, [*argv, "--budget", str(budget)])
        (row,) = json.loads(capsys.readouterr().out)
        decision = await guard.check(budget)
        assert (row["over_budget"], code, decision.allowed) == (over, int(over), not over), budget
