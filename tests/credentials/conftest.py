"""A sandbox serving the TURN key API with its own canary token, and clients for it."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.conftest import CANARY_TOKEN, KEY_CANARY
from turnmeter import TurnCredentials, TurnUsage
from turnmeter.sandbox import Sandbox, SandboxConfig
from turnmeter.transport.retry import RetryPolicy

KEY_ID = "74007022d80d7ebac4815fb776b9d3ed"
#: Backoff small enough that a retried test stays in the tens of milliseconds.
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02, total_time=5.0)


@pytest.fixture
async def key_sandbox(rows_config: SandboxConfig) -> AsyncIterator[Sandbox]:
    """A sandbox of its own (tests issue, relay and revoke): the shared rows, both canaries."""
    config = dataclasses.replace(rows_config, turn_key_token=KEY_CANARY)
    async with Sandbox(config) as server:
        yield server


@pytest.fixture
async def analytics(key_sandbox: Sandbox) -> AsyncIterator[TurnUsage]:
    async with TurnUsage(
        account_tag=key_sandbox.config.account_tag,
        api_token=CANARY_TOKEN,
        endpoint=key_sandbox.url,
    ) as client:
        yield client


@pytest.fixture
def credentials_for(key_sandbox: Sandbox) -> Callable[..., TurnCredentials]:
    """``credentials_for(**overrides)``: a TurnCredentials for the sandbox's TURN key API."""

    def build(**overrides: Any) -> TurnCredentials:
        options: dict[str, Any] = {
            "key_id": KEY_ID,
            "key_token": KEY_CANARY,
            "endpoint": key_sandbox.rtc_url,
            "retry": FAST_RETRY,
        }
        return TurnCredentials(**(options | overrides))

    return build
