"""Fixtures for the sandbox's own tests: servers on loopback and a raw aiohttp session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.sandbox.rows import NOW, awkward_rows
from turnmeter.sandbox import Sandbox, SandboxConfig

#: A token that must never show up in any output, log, repr or exception.
SECRET = "sbx-secret-4b1d-never-print"


@pytest.fixture(scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """One raw aiohttp session: the tests speak plain HTTP to the sandbox, like any client."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture(scope="session")
def awkward_config() -> SandboxConfig:
    return SandboxConfig(token=SECRET, now=NOW, rows=awkward_rows(), rate_limit=None)


@pytest.fixture(scope="session")
async def awkward(awkward_config: SandboxConfig) -> AsyncIterator[Sandbox]:
    """A read-only sandbox over the awkward rows, shared by the session."""
    async with Sandbox(awkward_config) as server:
        yield server


@pytest.fixture(scope="session")
async def synthetic() -> AsyncIterator[Sandbox]:
    """The default synthetic data set (7 days, 3 keys, 40 customers) on a fixed clock."""
    async with Sandbox(SandboxConfig(token=SECRET, now=NOW, rate_limit=None)) as server:
        yield server


async def post(
    http: aiohttp.ClientSession,
    sandbox: Sandbox,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = SECRET,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    """POST one GraphQL request; the status and the decoded body."""
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    payload = {"query": query, "variables": variables or {}}
    async with http.post(sandbox.url, json=payload, headers=sent) as response:
        return response.status, await response.json()
