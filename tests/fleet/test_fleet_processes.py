"""A fleet of real processes sharing one Redis: the budget, the poller lease, the outage policy.

Each worker (tests/fleet/worker.py) is a separate Python process with its own event loop and
redis-py pool; they meet only in a real redis-server and at a counting loopback server in
front of the sandbox, which records when each query arrives.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.conftest import CANARY_TOKEN
from tests.fleet.conftest import CANARY_REDIS_PASSWORD, RedisServer
from tests.loopback import forward, serving
from tests.resilience.test_hostile_budget import most_in_any_window
from turnmeter.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
#: Seconds the workers get to import turnmeter and connect before the fleet starts together.
STARTUP = 3.0


@dataclass
class CountingServer:
    """Records when each query arrives (wall clock) and answers it.

    The first query of each operation is forwarded to the sandbox; later ones get the same
    answer back at once, so that the server stays light and an arrival is stamped when the
    request arrives, not after other requests' work (the test's loop shares two cores with
    eight workers).
    """

    target: str
    arrivals: list[float] = field(default_factory=list)
    answers: dict[str, Any] = field(default_factory=dict)
    operations: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.arrivals.append(time.time())
        body = await request.json()
        operation = str(body.get("operationName"))
        self.operations.append(operation)
        if operation not in self.answers:
            _, self.answers[operation] = await forward(self.target, request)
        return web.json_response(self.answers[operation])


@pytest.fixture
async def counting(fresh_sandbox: Sandbox) -> AsyncIterator[tuple[CountingServer, str]]:
    server = CountingServer(fresh_sandbox.url)
    app = web.Application()
    app.router.add_post("/graphql", server.handle)
    async with serving(app) as url:
        yield server, url


@dataclass
class Worker:
    process: asyncio.subprocess.Process
    lines: list[dict[str, Any]] = field(default_factory=list)
    stderr: str = ""

    async def read(self) -> None:
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        errors = asyncio.ensure_future(self.process.stderr.read())
        while line := await self.process.stdout.readline():
            self.lines.append(json.loads(line))
        self.stderr = (await errors).decode()
        await self.process.wait()


async def start_workers(
    mode: str, count: int, redis: RedisServer, endpoint: str, **settings: Any
) -> tuple[list[Worker], list[asyncio.Task[None]]]:
    env = {
        **os.environ,
        "CLOUDFLARE_API_TOKEN": CANARY_TOKEN,
        "TURNMETER_REDIS_URL": redis.url,
        "PYTHONPATH": str(ROOT),
    }
    start = time.time() + STARTUP
    workers = []
    for index in range(count):
        options = {"endpoint": endpoint, "start": start, "index": index, **settings}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.fleet.worker",
            mode,
            json.dumps(options),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=ROOT,
        )
        workers.append(Worker(process))
    return workers, [asyncio.ensure_future(worker.read()) for worker in workers]


async def finish(workers: list[Worker], readers: list[asyncio.Task[None]]) -> None:
    try:
        await asyncio.wait_for(asyncio.gather(*readers), timeout=120)
    finally:
        for worker in workers:
            if worker.process.returncode is None:
                worker.process.kill()
                await worker.process.wait()


def account(sandbox: Sandbox) -> dict[str, Any]:
    return {"account": sandbox.config.account_tag}


# -- 8 processes x 200 concurrent calls: never more than the limit in any window --------------

LIMIT = 20
#: Cloudflare's ratio is 300 per 300 s; the issue's test is 20 per 5 s; 20 per 2 s keeps the
#: test short with the same semantics (the window slides; costs are per dataset node).
WINDOW = 2.0


async def test_8_processes_x_200_calls_never_exceed_the_limit_in_any_window(
    redis_server: RedisServer, counting: tuple[CountingServer, str], fresh_sandbox: Sandbox
) -> None:
    server, url = counting
    workers, readers = await start_workers(
        "calls",
        8,
        redis_server,
        url,
        limit=LIMIT,
        window=WINDOW,
        calls=200,
        concurrency=200,
        total_time=2.5 * WINDOW,
        lock_timeout=5.0,
        **account(fresh_sandbox),
    )
    await finish(workers, readers)
    assert all(worker.process.returncode == 0 for worker in workers), workers[0].stderr
    results = [worker.lines[-1] for worker in workers]
    sent = sum(result.get("sent", 0) for result in results)
    refused = sum(result.get("refused", 0) for result in results)
    assert sent + refused == 8 * 200, results  # every call ended as sent or refused, nothing else
    assert sent == len(server.arrivals)
    t0 = min(server.arrivals)
    assert most_in_any_window(server.arrivals, WINDOW) <= LIMIT, [
        round(at - t0, 3) for at in sorted(server.arrivals)
    ]
    # The budget is spent, not starved: the first window and the next are used in full.
    assert sent >= 2 * LIMIT


# -- 8 processes x 1,000 concurrent checks: one upstream query per refresh interval ----------

INTERVAL = 0.5


async def test_8_processes_x_1000_checks_send_one_query_per_refresh_interval(
    redis_server: RedisServer, counting: tuple[CountingServer, str], fresh_sandbox: Sandbox
) -> None:
    server, url = counting
    duration = 4.0
    workers, readers = await start_workers(
        "guard",
        8,
        redis_server,
        url,
        limit=300,
        window=300,
        interval=INTERVAL,
        lease_ttl=3 * INTERVAL,
        checks=1000,
        every=0.25,
        duration=duration,
        **account(fresh_sandbox),
    )
    await finish(workers, readers)
    assert all(worker.process.returncode == 0 for worker in workers), workers[0].stderr
    # The whole fleet: one query per refresh interval (a handover may add one), not eight ...
    # Counted over the span of the queries themselves: a loaded machine may start the first
    # refresh before any worker reports, or let the holder refresh once more while the others
    # exit. One query per interval over the span is span / INTERVAL + 1 (the fencepost), and
    # up to two handovers (a holder starved past its lease) may add one each; eight pollers
    # would still send eight times this many.
    span = max(server.arrivals) - min(server.arrivals)
    said = [line for worker in workers for line in worker.stderr.splitlines()]
    assert 2 <= len(server.arrivals) <= span / INTERVAL + 3, (server.arrivals, said)
    # ... each sent by the replica holding the lease then, while every replica answers from it.
    assert sum(worker.lines[-1]["queries"] for worker in workers) == len(server.arrivals)
    assert any(line["holder"] for worker in workers for line in worker.lines)
    for worker in workers:
        last = worker.lines[-1]
        assert last["known"] == 1000, (worker.lines, worker.stderr)  # the shared number, its age
        assert not last["fleet_down"]


# -- SIGKILL the holder: another replica takes over within the lease time ---------------------

LEASE_TTL = 1.0


async def wait_until(condition: Any, within: float, step: float = 0.02) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step)


async def test_a_killed_holder_is_replaced_within_the_lease_time(
    redis_server: RedisServer, counting: tuple[CountingServer, str], fresh_sandbox: Sandbox
) -> None:
    server, url = counting
    workers, readers = await start_workers(
        "guard",
        4,
        redis_server,
        url,
        limit=300,
        window=300,
        interval=0.3,
        lease_ttl=LEASE_TTL,
        checks=50,
        every=0.05,
        duration=STARTUP + 6.0,
        **account(fresh_sandbox),
    )
    try:

        def holder() -> Worker | None:
            found = [w for w in workers if w.lines and w.lines[-1]["holder"]]
            return found[0] if len(found) == 1 and found[0].lines[-1]["queries"] >= 2 else None

        await wait_until(lambda: holder() is not None, within=STARTUP + 20)
        victim = holder()
        assert victim is not None
        killed_at = time.time()
        victim.process.send_signal(signal.SIGKILL)
        others = [w for w in workers if w is not victim]
        before = {id(w): w.lines[-1]["queries"] if w.lines else 0 for w in others}

        def taken_over() -> bool:
            return any(w.lines and w.lines[-1]["queries"] > before[id(w)] for w in others)

        await wait_until(taken_over, within=LEASE_TTL + 10)
        taken_at = min(
            line["t"] for w in others for line in w.lines if line["queries"] > before[id(w)]
        )
        # The lease expires at most LEASE_TTL after the victim's last renewal; a follower looks
        # again at that moment. One refresh interval of slack covers a loaded machine.
        assert taken_at - killed_at <= LEASE_TTL + 1.0
        # guard.queries counts a query as it starts: its request may still be on its way.
        await wait_until(lambda: any(at > killed_at for at in server.arrivals), within=10)
        first_after = min(at for at in server.arrivals if at > killed_at)
        assert first_after - killed_at <= LEASE_TTL + 1.0
    finally:
        await finish(workers, readers)
    assert victim.process.returncode == -signal.SIGKILL
    assert all(w.process.returncode == 0 for w in others), others[0].stderr
    assert sum(w.lines[-1]["holder"] for w in others) == 1


# -- kill redis-server mid-run: the documented fallback, and every replica keeps answering ---


async def test_redis_killed_mid_run_falls_back_and_recovers(
    redis_with_password: RedisServer,
    counting: tuple[CountingServer, str],
    fresh_sandbox: Sandbox,
) -> None:
    redis = redis_with_password
    _, url = counting
    workers, readers = await start_workers(
        "guard",
        3,
        redis,
        url,
        limit=300,
        window=300,
        share=0.1,
        interval=0.3,
        lease_ttl=1.0,
        checks=50,
        calls=1,
        every=0.05,
        lock_timeout=0.5,
        duration=STARTUP + 7.0,
        **account(fresh_sandbox),
    )
    try:
        await wait_until(lambda: all(w.lines for w in workers), within=STARTUP + 20)
        redis.stop()
        stopped_at = time.time()

        def fell_back(w: Worker) -> bool:
            return any(line["t"] > stopped_at and line["budget_down"] for line in w.lines)

        await wait_until(lambda: all(fell_back(w) for w in workers), within=10)
        await asyncio.sleep(1.0)  # a second on the fallback
        redis.start()
        restarted_at = time.time()

        def recovered(w: Worker) -> bool:
            return any(
                line["t"] > restarted_at + 1.5 and not line["budget_down"] for line in w.lines
            )

        await wait_until(lambda: all(recovered(w) for w in workers), within=15)
    finally:
        await finish(workers, readers)
    for worker in workers:
        assert worker.process.returncode == 0, worker.stderr
        down = [line for line in worker.lines if stopped_at < line["t"] < restarted_at]
        assert down, "the replica stopped answering while Redis was down"
        # Every round while Redis was down still answered: checks from a known number (the
        # guard polls locally), queries granted from the local share of the budget.
        assert all(line["known"] == 50 for line in down), down
        assert sum(line["sent"] for line in down) >= 1
        assert any(line["fleet_down"] for line in down)
        # The policy is in the logs, both ways; the password never is.
        assert "shared rate budget unavailable, granting from a local share of 30" in (
            worker.stderr
        )
        assert "shared rate budget reachable again" in worker.stderr
        assert "budget fleet unavailable, policy poll_locally" in worker.stderr
        assert "budget fleet reachable again" in worker.stderr
        assert CANARY_REDIS_PASSWORD not in worker.stderr
        assert CANARY_REDIS_PASSWORD not in json.dumps(worker.lines)
        assert CANARY_TOKEN not in worker.stderr
