"""Late data and a moving clock: what the exporter and the ledger tests need of the sandbox."""

from __future__ import annotations

from datetime import timedelta

from tests.usage_data import NOW
from turnmeter import TurnUsage
from turnmeter.sandbox import Sandbox, SandboxConfig
from turnmeter.sandbox.model import UsageRow


def _row(minutes_ago: int, egress: int) -> UsageRow:
    return UsageRow(
        minute=NOW - timedelta(minutes=minutes_ago),
        key_id="late-key",
        username="late-user",
        custom_identifier="late-customer",
        datacenter_city="Paris",
        datacenter_code="CDG",
        datacenter_country="FR",
        datacenter_region="WEUR",
        egress_bytes=egress,
        ingress_bytes=1,
        concurrent_connections=1,
    )


async def test_rows_added_while_running_are_answered_over_http() -> None:
    async with Sandbox(SandboxConfig(now=NOW, rows=[_row(30, 100)], rate_limit=None)) as sandbox:
        turn = TurnUsage(
            account_tag=sandbox.config.account_tag,
            api_token=sandbox.config.token,
            endpoint=sandbox.url,
        )
        async with turn:
            since = NOW - timedelta(hours=1)
            assert (await turn.total(since, NOW)).egress_bytes == 100
            assert sandbox.add_rows([_row(20, 7), _row(10, 3)]) == 2
            assert (await turn.total(since, NOW)).egress_bytes == 110
            assert len(sandbox.rows()) == 3


async def test_set_now_moves_the_clock_the_server_answers_with() -> None:
    async with Sandbox(SandboxConfig(now=NOW, rows=[_row(30, 100)], rate_limit=None)) as sandbox:
        later = NOW + timedelta(days=1)
        sandbox.set_now(later)
        assert sandbox.config.clock() == later
        assert sandbox.state.engine.config.clock() == later
