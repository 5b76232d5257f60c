"""Late TURN rows reach the SFU data derived from them.

The sandbox derives an account's SFU traffic from its TURN traffic on first use; TURN rows added
afterwards (``Sandbox.add_rows``, ``Sandbox.relay``: Cloudflare's late-arriving data) must
show up in the SFU answers too, as if they had been there from the start.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from tests.conftest import CANARY_TOKEN
from tests.sfu.conftest import NOW
from turnmeter import TurnUsage
from turnmeter.sandbox import Sandbox, SandboxConfig, UsageRow
from turnmeter.sandbox.sfu import derive_sfu, uses_sfu
from turnmeter.sandbox.store import row_tuple
from turnmeter.sfu import SfuUsage

SINCE, UNTIL = NOW - timedelta(days=1), NOW
MINUTE = NOW - timedelta(hours=3)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    config = SandboxConfig(token=CANARY_TOKEN, now=NOW, days=2, customers=4, rate_limit=None)
    async with Sandbox(config) as server:
        yield server


def late_row(customer: str) -> UsageRow:
    return UsageRow(
        MINUTE,
        "late-key",
        "late-user",
        customer,
        "Frankfurt",
        "FRA",
        "DE",
        "EEUR",
        7_000_000,
        3_000_000,
        1,
    )


@pytest.mark.parametrize("customer", ["late-sfu-0", "late-sfu-1", "late-sfu-2", "late-sfu-3"])
async def test_late_turn_rows_change_the_sfu_totals_by_their_share(
    sandbox: Sandbox, customer: str
) -> None:
    async with TurnUsage(
        account_tag=sandbox.config.account_tag, api_token=sandbox.config.token, endpoint=sandbox.url
    ) as turn:
        sfu = SfuUsage(turn)
        before = await sfu.total(SINCE, UNTIL)  # derives the SFU store
        row = late_row(customer)
        sandbox.add_rows([row])
        after = await sfu.total(SINCE, UNTIL)
    derived = derive_sfu([row_tuple(row)])
    assert bool(derived) == uses_sfu(customer)
    assert after.egress_bytes - before.egress_bytes == sum(r[-2] for r in derived)
    assert after.ingress_bytes - before.ingress_bytes == sum(r[-1] for r in derived)
    # What a sandbox that had the late row from the start derives, in total.
    fresh = derive_sfu(row_tuple(r) for r in sandbox.rows())
    assert sum(r.egress_bytes for r in sandbox.sfu_rows()) == sum(r[-2] for r in fresh)
