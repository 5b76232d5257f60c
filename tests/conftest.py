"""Shared fixtures: sandboxes on loopback and clients pointed at them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.usage_data import NOW, usage_rows
from turnmeter import TurnUsage
from turnmeter.sandbox import Sandbox, SandboxConfig

#: A token that must never show up in any output, log, repr or exception.
CANARY_TOKEN = "canary-7f3a-DO-NOT-LEAK-91c2"
#: The TURN key's API token (the second secret, tests/credentials): the same rule.
KEY_CANARY = "key-canary-4b1d-DO-NOT-LEAK-77e0"


@pytest.fixture(scope="session")
def rows_config() -> SandboxConfig:
    return SandboxConfig(token=CANARY_TOKEN, now=NOW, rows=usage_rows(), rate_limit=None)


@pytest.fixture(scope="session")
async def sandbox(rows_config: SandboxConfig) -> AsyncIterator[Sandbox]:
    """One sandbox over the hand-checkable rows, shared by the whole session (read-only)."""
    async with Sandbox(rows_config) as server:
        yield server


@pytest.fixture
async def turn(sandbox: Sandbox) -> AsyncIterator[TurnUsage]:
    async with TurnUsage(
        account_tag=sandbox.config.account_tag,
        api_token=sandbox.config.token,
        endpoint=sandbox.url,
    ) as client:
        yield client


@pytest.fixture
async def fresh_sandbox(rows_config: SandboxConfig) -> AsyncIterator[Sandbox]:
    """A sandbox of its own, for tests that push faults or change state."""
    async with Sandbox(rows_config) as server:
        yield server


#: The test PostgreSQL server's password: clients get it from PGPASSWORD only, and it must
#: never show up in any output, log, repr or exception either.
CANARY_PG_PASSWORD = "canary-pg-4e1b-DO-NOT-LEAK-77d0"
