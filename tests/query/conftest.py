"""Sandboxes over the grid rows: small node limits, limits lifted, and one for faults."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.query.grid import LIFTED_LIMITS, SMALL_LIMITS, config
from turnmeter import TurnUsage
from turnmeter.sandbox import Sandbox
from turnmeter.transport.ratelimit import RateBudget


def client_for(sandbox: Sandbox) -> TurnUsage:
    """A client for ``sandbox``, without the client-side rate budget (these tests send
    thousands of small queries to a sandbox that does not limit them either)."""
    return TurnUsage(
        account_tag=sandbox.config.account_tag,
        api_token=sandbox.config.token,
        endpoint=sandbox.url,
        rate_budget=RateBudget(limit=None),
    )


@pytest.fixture(scope="session")
async def small_sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(config(SMALL_LIMITS)) as server:
        yield server


@pytest.fixture(scope="session")
async def lifted_sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(config(LIFTED_LIMITS)) as server:
        yield server


@pytest.fixture(scope="session")
async def small(small_sandbox: Sandbox) -> AsyncIterator[TurnUsage]:
    """A client under small limits (3 h windows, pages of 50)."""
    async with client_for(small_sandbox) as client:
        yield client


@pytest.fixture(scope="session")
async def lifted(lifted_sandbox: Sandbox) -> AsyncIterator[TurnUsage]:
    """A client for the same rows with the limits lifted: the single-query reference."""
    async with client_for(lifted_sandbox) as client:
        yield client


@pytest.fixture
async def faulty_sandbox() -> AsyncIterator[Sandbox]:
    """Small limits, a sandbox of its own: tests push faults into it."""
    async with Sandbox(config(SMALL_LIMITS)) as server:
        yield server
