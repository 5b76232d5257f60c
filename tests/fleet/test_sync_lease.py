"""``sync --follow`` replicas on one store take turns through a Redis lease (real redis-server).

One replica syncs; the others stand by, and take over when the holder stops (at once, since a
clean stop releases the lease) or dies (when its lease expires). With Redis unreachable every
replica syncs: a sync replaces whole windows in transactions, so the ledger stays right.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fleet.conftest import RedisServer
from tests.ledger.conftest import SINCE, client, sandbox_config
from tests.ledger.expected import bucket_sums, ledger_sums
from tests.usage_data import NOW
from turnmeter.fleet import Lease
from turnmeter.ledger import Ledger
from turnmeter.ledger.ledger import sync_lease
from turnmeter.ledger.model import at, epoch
from turnmeter.sandbox import Sandbox
from turnmeter.transport.redis_conn import RedisConnection
from turnmeter.transport.redis_url import RedisURL

#: Seconds between runs: the lease lasts three of them, far longer than a run after the first.
INTERVAL = 1.0
#: How long a test waits for something that must happen (a generous bound, not a measurement).
PATIENCE = 60.0


class Replica:
    """One ``Ledger.follow`` loop with its own client, ledger and lease, in a task."""

    def __init__(self, sandbox: Sandbox, store: str, redis_url: str) -> None:
        self.sandbox, self.store, self.redis_url = sandbox, store, redis_url
        self.runs = 0
        self.states: list[str] = []
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        async with (
            client(self.sandbox.url, self.sandbox) as turn,
            Ledger(self.store, clock=lambda: NOW) as ledger,
        ):
            tag = self.sandbox.config.account_tag
            lease = sync_lease(self.redis_url, self.store, tag, ledger, INTERVAL)
            try:
                async for _ in ledger.follow(
                    turn, interval=INTERVAL, since=SINCE, lease=lease, on_lease=self.states.append
                ):
                    self.runs += 1
            finally:
                await lease.redis.aclose()

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def eventually(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(PATIENCE):
        while not condition():  # noqa: ASYNC110  (other tasks change what it reads)
            await asyncio.sleep(0.05)


async def expected_ledger(store: str, sandbox: Sandbox) -> None:
    async with Ledger(store, clock=lambda: NOW) as ledger:
        stored = ledger_sums(await ledger.rows())
    step = ledger.spec.seconds
    start = at(-(-epoch(SINCE) // step) * step)
    assert stored == bucket_sums(sandbox.rows(), "hour", ledger.spec.dimensions, start, NOW)


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shared.db'}"


async def test_one_replica_syncs_the_other_stands_by_then_takes_over(
    redis_server: RedisServer, store: str
) -> None:
    async with Sandbox(sandbox_config()) as sandbox:
        first, second = (
            Replica(sandbox, store, redis_server.url),
            Replica(sandbox, store, redis_server.url),
        )
        first.start()
        await eventually(lambda: first.runs >= 1)
        second.start()
        await eventually(lambda: first.runs >= 4)
        assert second.runs == 0
        assert first.states == ["holding"]
        assert second.states == ["standby"]
        await first.stop()  # a clean stop releases the lease: the standby takes it next
        await eventually(lambda: second.runs >= 1)
        assert second.states == ["standby", "holding"]
        await second.stop()
        await expected_ledger(store, sandbox)


async def test_a_dead_holder_is_replaced_when_its_lease_expires(
    redis_server: RedisServer, store: str
) -> None:
    async with Sandbox(sandbox_config()) as sandbox:
        # A replica that took the lease and died: it never renews, never releases.
        probe = Replica(sandbox, store, redis_server.url)
        async with Ledger(store, clock=lambda: NOW) as ledger:
            tag = sandbox.config.account_tag
            name = sync_lease(redis_server.url, store, tag, ledger, INTERVAL).name
        redis = RedisConnection(RedisURL(redis_server.url))
        try:
            dead = Lease(redis, name, ttl=3 * INTERVAL)
            assert await dead.hold()
            probe.start()
            await eventually(lambda: probe.runs >= 1)
        finally:
            await redis.aclose()
        assert probe.states == ["standby", "holding"]
        await probe.stop()
        await expected_ledger(store, sandbox)


async def test_with_redis_down_every_replica_syncs(redis_server: RedisServer, store: str) -> None:
    async with Sandbox(sandbox_config()) as sandbox:
        redis_server.stop()
        replica = Replica(sandbox, store, redis_server.url)
        replica.start()
        await eventually(lambda: replica.runs >= 1)
        await replica.stop()
        assert replica.states == ["redis unavailable: syncing anyway"]
        await expected_ledger(store, sandbox)


def test_the_cli_follow_takes_the_lease_from_redis_url(
    cli_env: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    # `turnmeter sync --follow` with --redis: the first replica says it holds the lease and
    # syncs; stopped by SIGTERM, it hands the lease back (nothing left in Redis).
    import os
    import subprocess
    import sys

    import redis

    command = [
        sys.executable, "-m", "turnmeter", "sync", "--follow", "--interval", "1",
        "--sandbox", "--redis", redis_server.url, "--since", "1d",
        "--store", f"sqlite:///{tmp_path / 'cli.db'}",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # the first run's summary
        assert "sync" in first or "bucket" in first or first.strip(), first
        assert redis.Redis.from_url(redis_server.url).keys("turnmeter:sync:*")
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err  # SIGTERM is a clean stop
    assert "sync lease held: this replica syncs" in err
    assert not redis.Redis.from_url(redis_server.url).keys("turnmeter:sync:*")
