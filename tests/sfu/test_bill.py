"""``turnmeter bill`` and ``BudgetGuard(include_sfu=True)`` over TURN + SFU, against expectations
worked out by hand from a handful of rows.

This month (November 2026, clock on the 10th): TURN egress 400 GB + 300 GB = 700 GB; SFU egress
300 GB + 200 GB = 500 GB, SFU ingress 60 GB + 40 GB = 100 GB. Last month's rows (900 GB TURN,
500 GB SFU) must not count.

* upper bound (no TURN byte touched the SFU): 700 + 500 = 1,200 GB;
  cost (1,200 - 1,000 free) * $0.05 = $10.00; free tier left 0.
* lower bound: 500 + max(0, 700 - (500 + 100)) = 600 GB; cost $0.00.
* TURN alone (the guard without the SFU): 700 GB, $0.00, 300 GB of free tier left.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.cli.conftest import ThreadedSandbox
from tests.conftest import CANARY_TOKEN
from turnmeter import BudgetGuard, ConfigError, TurnUsage
from turnmeter.cli import main
from turnmeter.sandbox import Sandbox, SandboxConfig, SfuRow, UsageRow

NOW = datetime(2026, 11, 10, 6, 0, tzinfo=UTC)
GB = 10**9


def _turn(minute: datetime, egress: int) -> UsageRow:
    return UsageRow(minute, "k1", "u1", "acme", "Frankfurt", "FRA", "DE", "WEUR", egress, 1, 1)


def _sfu(minute: datetime, egress: int, ingress: int) -> SfuRow:
    return SfuRow(minute, "app1", "s1", "t1", "video", egress, ingress)


CONFIG = SandboxConfig(
    token=CANARY_TOKEN,
    now=NOW,
    rate_limit=None,
    rows=[
        _turn(datetime(2026, 11, 2, 10, 0, tzinfo=UTC), 400 * GB),
        _turn(datetime(2026, 11, 9, 22, 15, tzinfo=UTC), 300 * GB),
        _turn(datetime(2026, 10, 31, 23, 59, tzinfo=UTC), 900 * GB),
    ],
    sfu_rows=[
        _sfu(datetime(2026, 11, 3, 8, 0, tzinfo=UTC), 300 * GB, 60 * GB),
        _sfu(datetime(2026, 11, 10, 5, 59, tzinfo=UTC), 200 * GB, 40 * GB),
        _sfu(datetime(2026, 10, 15, 12, 0, tzinfo=UTC), 500 * GB, 50 * GB),
    ],
)


@pytest.fixture(scope="module")
async def billed() -> AsyncIterator[Sandbox]:
    async with Sandbox(CONFIG) as server:
        yield server


@pytest.fixture
async def turn(billed: Sandbox) -> AsyncIterator[TurnUsage]:
    async with TurnUsage(
        account_tag=billed.config.account_tag, api_token=CANARY_TOKEN, endpoint=billed.url
    ) as client:
        yield client


async def test_guard_counts_turn_and_sfu_with_the_shared_free_tier(turn: TurnUsage) -> None:
    guard = BudgetGuard(turn, include_sfu=True, clock=lambda: NOW)
    usage = await guard.refresh()
    assert usage.turn_egress_bytes == 700 * GB
    assert usage.sfu_egress_bytes == 500 * GB
    assert usage.sfu_ingress_bytes == 100 * GB
    assert usage.egress_bytes == 1_200 * GB  # the upper bound is the guard's number
    assert usage.cost_usd == Decimal("10.00")
    assert usage.lower_egress_bytes == 600 * GB
    assert usage.lower_cost_usd == Decimal(0)
    assert (await guard.check(budget_usd=10)).reason == "over_budget"
    assert (await guard.check(budget_usd="10.01")).allowed
    assert guard.queries == 1


async def test_guard_without_the_sfu_is_turn_alone(turn: TurnUsage) -> None:
    guard = BudgetGuard(turn, clock=lambda: NOW)
    usage = await guard.refresh()
    assert usage.egress_bytes == 700 * GB
    assert usage.cost_usd == Decimal(0)
    assert usage.sfu_egress_bytes is None
    assert (await guard.check(budget_usd=10)).allowed


async def test_guard_refuses_sfu_with_a_key_or_customer_scope(turn: TurnUsage) -> None:
    with pytest.raises(ConfigError, match="no TURN keys or custom identifiers"):
        BudgetGuard(turn, include_sfu=True, custom_identifier="acme")
    with pytest.raises(ConfigError, match="include_sfu must be True or False"):
        BudgetGuard(turn, include_sfu="yes")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def threaded() -> Iterator[ThreadedSandbox]:
    with ThreadedSandbox(CONFIG) as server:
        yield server


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, threaded: ThreadedSandbox) -> str:
    monkeypatch.setenv("TURNMETER_SANDBOX_TOKEN", CANARY_TOKEN)
    monkeypatch.delenv("TURNMETER_CONFIG", raising=False)
    return threaded.url


def _bill(capsys: pytest.CaptureFixture[str], url: str, *extra: str) -> tuple[int, dict]:
    now = "2026-11-10T06:00:00Z"
    code = main(["bill", "--sandbox", url, "--now", now, "--format", "json", *extra])
    out = capsys.readouterr().out
    [row] = json.loads(out)
    return code, row


def test_bill_by_hand(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, row = _bill(capsys, env, "--budget", "10")
    assert code == 1  # $10.00 at the upper bound has reached the $10 budget
    assert row["month_start"] == "2026-11-01T00:00:00Z"
    assert row["turn_egress_bytes"] == 700 * GB
    assert row["sfu_egress_bytes"] == 500 * GB
    assert row["sfu_ingress_bytes"] == 100 * GB
    assert row["billed_upper_bytes"] == 1_200 * GB
    assert row["billed_lower_bytes"] == 600 * GB
    assert row["free_tier_left_bytes"] == 0
    assert row["cost_upper_usd"] == 10.0
    assert row["cost_lower_usd"] == 0.0
    assert row["budget_left_usd"] == 0.0
    assert row["over_budget"] is True


def test_bill_under_budget_and_other_pricing(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, row = _bill(capsys, env, "--budget", "10.01")
    assert code == 0
    assert row["budget_left_usd"] == 0.01
    # 1,500 GB free: both bounds inside the free tier, 300 GB of it left at the upper bound
    code, row = _bill(capsys, env, "--free-tier-gb", "1500", "--price-per-gb", "0.10")
    assert code == 0
    assert row["cost_upper_usd"] == 0.0
    assert row["free_tier_left_bytes"] == 300 * GB
    # 500 GB free at $0.10: upper (1,200 - 500) * 0.10 = $70, lower (600 - 500) * 0.10 = $10
    code, row = _bill(capsys, env, "--free-tier-gb", "500", "--price-per-gb", "0.10")
    assert (row["cost_upper_usd"], row["cost_lower_usd"]) == (70.0, 10.0)


def test_bill_of_a_past_month(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, row = _bill(capsys, env, "--month", "2026-10")
    assert code == 0
    assert (row["turn_egress_bytes"], row["sfu_egress_bytes"]) == (900 * GB, 500 * GB)
    assert row["billed_upper_bytes"] == 1_400 * GB
    assert row["cost_upper_usd"] == 20.0  # (1,400 - 1,000) * 0.05


def test_bill_table_says_what_analytics_cannot_tell(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bill", "--sandbox", env, "--now", "2026-11-10T06:00:00Z"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "cannot tell which TURN bytes" in out
    assert "shared by TURN and the SFU" in out
    assert CANARY_TOKEN not in out
