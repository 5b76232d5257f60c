"""SIGKILL the exporter process in the middle of a poll, start it again on the same state file:
the counters equal the raw sums again (nothing lost, nothing counted twice)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import CANARY_TOKEN
from tests.exporter.expect import expected_counters, scraped_counters
from tests.exporter.stack import MONTH_START, NOW
from tests.servers import free_port
from turnmeter.sandbox import Fault, Sandbox, SandboxConfig

#: More than the 40 synthetic customers: every customer has its own series here (the cap and
#: __other__ are proven against Prometheus in test_prometheus.py).
TOP = 100
WAIT_SECONDS = 60.0


def _settled(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0) - timedelta(minutes=5)


class Run:
    """One exporter process."""

    def __init__(self, proc: asyncio.subprocess.Process, port: int, log: Path) -> None:
        self.proc, self.port, self.log = proc, port, log

    async def get(self, path: str) -> tuple[int, str]:
        url = f"http://127.0.0.1:{self.port}{path}"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return response.status, await response.text()

    async def wait_settled(self, until: datetime) -> dict[str, Any]:
        import json

        deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
        while asyncio.get_running_loop().time() < deadline:
            if self.proc.returncode is not None:
                raise AssertionError(f"exporter exited: {self.log.read_text()}")
            try:
                status, text = await self.get("/healthz")
                health: dict[str, Any] = json.loads(text)
                if status == 200 and health["watermark"] == until.isoformat():
                    return health
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        raise AssertionError(f"exporter never reached {until}: {self.log.read_text()}")

    def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)


@asynccontextmanager
async def exporter_process(
    sandbox: Sandbox, state: Path, now: datetime, tmp: Path
) -> AsyncIterator[Run]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
    env["TURNMETER_SANDBOX_TOKEN"] = sandbox.config.token
    log = tmp / f"exporter-{time.monotonic_ns()}.log"
    argv = [
        sys.executable, "-m", "turnmeter", "exporter",
        "--sandbox", sandbox.url, "--now", now.isoformat(), "--state", str(state),
        "--listen", f"127.0.0.1:{port}", "--poll-interval", "0.2",
        "--top-customers", str(TOP),
    ]  # fmt: skip
    with log.open("w") as stderr:
        proc = await asyncio.create_subprocess_exec(
            *argv, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=stderr
        )
    run = Run(proc, port, log)
    try:
        yield run
    finally:
        run.kill()
        await proc.wait()


def _watermark(state: Path) -> str | None:
    with sqlite3.connect(state) as db:
        row = db.execute("SELECT value FROM meta WHERE name = 'watermark'").fetchone()
    return None if row is None else str(row[0])


async def _counters(run: Run) -> dict[tuple[str, str], tuple[int, int]]:
    status, text = await run.get("/metrics")
    assert status == 200
    return scraped_counters(text)


async def test_sigkill_mid_poll_then_restart_counts_every_minute_once(tmp_path: Path) -> None:
    state = tmp_path / "exporter.sqlite"
    config = SandboxConfig(token=CANARY_TOKEN, now=NOW, rate_limit=None)
    async with Sandbox(config) as sandbox:
        rows = sandbox.rows()
        # 1. Backfill the month, then die at once.
        async with exporter_process(sandbox, state, NOW, tmp_path) as run:
            await run.wait_settled(_settled(NOW))
            assert await _counters(run) == expected_counters(
                rows, MONTH_START, _settled(NOW), top=TOP
            )
            run.kill()
        first = _watermark(state)
        assert first == _settled(NOW).isoformat()

        # 2. Ten minutes later: killed while its usage request is in flight (the settings
        # query answers at once, the usage query is held by the sandbox).
        later = NOW + timedelta(minutes=10)
        sandbox.faults.push(Fault.delay(0.0), Fault.delay(3.0))
        async with exporter_process(sandbox, state, later, tmp_path) as run:
            for _ in range(600):
                if not sandbox.faults.pending():
                    break
                await asyncio.sleep(0.05)
            assert not sandbox.faults.pending(), run.log.read_text()
            await asyncio.sleep(0.3)  # the held request is on the server
            run.kill()
        assert _watermark(state) == first  # nothing of the killed poll was written

        # 3. Killed at random moments of start-up, backfill-free polls and commits.
        rng = random.Random(15)
        for step in range(6):
            moment = later + timedelta(minutes=step)
            async with exporter_process(sandbox, state, moment, tmp_path) as run:
                await asyncio.sleep(rng.uniform(0.3, 1.5))
                run.kill()

        # 4. A clean run: every settled minute of the month, once.
        final = later + timedelta(minutes=8)
        async with exporter_process(sandbox, state, final, tmp_path) as run:
            await run.wait_settled(_settled(final))
            assert await _counters(run) == expected_counters(
                rows, MONTH_START, _settled(final), top=TOP
            )
    # The sandbox token was the canary: no exporter process printed it.
    assert _logs_with(CANARY_TOKEN, tmp_path) == (9, [])


def _logs_with(text: str, folder: Path) -> tuple[int, list[str]]:
    logs = sorted(folder.glob("exporter-*.log"))
    return len(logs), [log.name for log in logs if text in log.read_text()]


async def test_poll_failures_are_logged_and_sigterm_stops_cleanly(tmp_path: Path) -> None:
    state = tmp_path / "exporter.sqlite"
    config = SandboxConfig(token=CANARY_TOKEN, now=NOW, rate_limit=None)
    async with Sandbox(config) as sandbox:
        # The first poll is refused (a body echoing the token), the next ones answer. The CLI's
        # clock probe of a --sandbox URL (one request before anything else) takes the first.
        refused = Fault.status(401, body=f"bad token {CANARY_TOKEN}")
        sandbox.faults.push(refused, refused)
        async with exporter_process(sandbox, state, NOW, tmp_path) as run:
            await run.wait_settled(_settled(NOW))
            run.proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(run.proc.wait(), 20) == 0
            log = run.log.read_text()
    assert "poll failed (auth, 1 in a row)" in log
    assert CANARY_TOKEN not in log
    assert _watermark(state) == _settled(NOW).isoformat()
