"""A synthetic sandbox (TURN traffic and the SFU traffic derived from it) on a fixed clock, with
a second readable account and a forbidden one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from tests.conftest import CANARY_TOKEN
from turnmeter import TurnUsage
from turnmeter.sandbox import Sandbox, SandboxConfig

#: The sandbox clock: the 10th of a month, so month-to-date spans ten synthetic days.
NOW = datetime(2026, 11, 10, 6, 0, tzinfo=UTC)
SECOND = "5ec0d5ec0d5ec0d5ec0d5ec0d5ec0d00"
FORBIDDEN = "f0bb1dd3nf0bb1dd3nf0bb1dd3n0000"


@pytest.fixture(scope="session")
async def realtime() -> AsyncIterator[Sandbox]:
    config = SandboxConfig(
        token=CANARY_TOKEN,
        now=NOW,
        days=12,
        customers=12,
        rate_limit=None,
        other_accounts=(SECOND,),
        forbidden_accounts=(FORBIDDEN,),
    )
    async with Sandbox(config) as server:
        yield server


@pytest.fixture
async def turn(realtime: Sandbox) -> AsyncIterator[TurnUsage]:
    async with TurnUsage(
        account_tag=realtime.config.account_tag,
        api_token=realtime.config.token,
        endpoint=realtime.url,
    ) as client:
        yield client
