"""Fixtures for the ledger tests: every store-level test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from tests.conftest import CANARY_PG_PASSWORD, CANARY_TOKEN
from tests.ledger.postgres import PostgresServer, running_postgres
from tests.usage_data import NOW, usage_rows
from turnmeter import TurnUsage
from turnmeter.sandbox import Sandbox, SandboxConfig
from turnmeter.sandbox.model import NodeLimits
from turnmeter.transport.ratelimit import NO_RATE_BUDGET

#: Small windows and pages, so a three-day sync takes many windows and several pages each.
SMALL = NodeLimits(max_duration=6 * 3600, max_page_size=40)
#: Where the hand-checkable rows start (tests.usage_data): the ledgers start here.
SINCE = NOW - timedelta(days=3, hours=1)

_databases = itertools.count()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PGPASSWORD", CANARY_PG_PASSWORD)
        with running_postgres(CANARY_PG_PASSWORD) as server:
            yield server


async def new_database(server: PostgresServer) -> str:
    """A fresh, empty database on ``server``; its URL (no password in it)."""
    import asyncpg

    name = f"ledger_{next(_databases)}"
    conn = await asyncpg.connect(server.url())
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return server.url(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An empty ledger store of each kind (usable by sync and async tests alike)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('ledger') / 'ledger.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    # On a thread of its own: this fixture may be set up while the test's loop is not running.
    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(asyncio.run, new_database(server)).result()


def sandbox_config(**changes: object) -> SandboxConfig:
    settings: dict[str, object] = {
        "token": CANARY_TOKEN,
        "now": NOW,
        "rows": usage_rows(),
        "rate_limit": None,
        "limits": SMALL,
    }
    return SandboxConfig(**(settings | changes))  # type: ignore[arg-type]


@pytest.fixture
async def small_sandbox() -> AsyncIterator[Sandbox]:
    """The hand-checkable rows behind small limits; a sandbox of its own (tests add rows)."""
    async with Sandbox(sandbox_config()) as server:
        yield server


def client(url: str, sandbox: Sandbox) -> TurnUsage:
    return TurnUsage(
        account_tag=sandbox.config.account_tag,
        api_token=sandbox.config.token,
        endpoint=url,
        rate_budget=NO_RATE_BUDGET,
    )
