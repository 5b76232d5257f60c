"""The rate budget under hostile conditions: absurd server waits, unusable or locked budget
files, processes racing for the file's write lock, and bad configuration values."""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.loopback import serving
from tests.resilience.conftest import Stack
from tests.resilience.test_load import FakeMonotonic
from tests.usage_data import NOW
from turnmeter import ConfigError, RateLimited, TurnmeterError
from turnmeter.transport.ratelimit import (
    GRANT_SAFETY_MARGIN,
    RateBudget,
    RateLimiter,
    RateMode,
)
from turnmeter.transport.retry import NO_RETRY, RetryPolicy

SINCE = NOW - timedelta(days=1)
#: The largest HTTP date there is: a server (or an older turnmeter) saying "never".
YEAR_9999 = "Fri, 31 Dec 9999 23:59:59 GMT"
YEAR_9999_EPOCH = 253402300799.0
RATE_LIMIT_BODY = json.dumps(
    {"data": None, "errors": [{"message": "rate limiter budget depleted", "path": None}]}
).encode()
#: A little slack for the time between the pause being written and the test reading it.
READ_SLACK = 5.0


# -- a hostile server of the tests' own: scripted answers, the rest forwarded to the sandbox ----


@dataclass
class Scripted:
    """One scripted answer: status, headers and body, after ``delay`` s; or forward after it."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0


@dataclass
class HostileServer:
    target: str
    script: list[Scripted] = field(default_factory=list)
    url: str = ""
    requests: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        body = await request.read()
        step = self.script.pop(0) if self.script else Scripted()
        await asyncio.sleep(step.delay)
        if step.status is not None:
            return web.Response(
                status=step.status,
                body=step.body,
                headers=step.headers,
                content_type="application/json",
            )
        async with aiohttp.ClientSession() as session:
            headers = {k: v for k, v in request.headers.items() if k.lower() == "authorization"}
            headers["Content-Type"] = "application/json"
            async with session.post(self.target, data=body, headers=headers) as upstream:
                return web.Response(
                    status=upstream.status,
                    body=await upstream.read(),
                    content_type="application/json",
                )


@pytest.fixture
async def hostile(stack: Stack) -> AsyncIterator[HostileServer]:
    server = HostileServer(stack.sandbox.url)
    app = web.Application()
    app.router.add_post("/graphql", server.handle)
    async with serving(app) as server.url:
        yield server


def file_pause(path: Path) -> float:
    db = sqlite3.connect(path)
    try:
        row = db.execute("SELECT until FROM pause WHERE id = 1").fetchone()
    finally:
        db.close()
    return float(row[0]) if row is not None and row[0] is not None else 0.0


def assert_is_a_pause(error: RateLimited, bound: float) -> None:
    message = str(error)
    assert "paused by the server's rate limit until" in message, message
    assert "client-side rate budget spent" not in message, message
    assert error.retry_after is not None
    assert 0 < error.retry_after <= bound
    assert error.errors[0].extensions.get("reason") == "server_pause"


# -- item 1: one absurd server wait must not stop the client for good -------------------------


@pytest.mark.parametrize("retry_after", ["1000000000", "inf", YEAR_9999])
async def test_absurd_retry_after_pauses_the_shared_file_at_most_a_window(
    stack: Stack, hostile: HostileServer, tmp_path: Path, retry_after: str
) -> None:
    path = tmp_path / "budget.db"
    budget = RateBudget(limit=50, window=600, path=path)
    hostile.script.append(Scripted(429, {"Retry-After": retry_after}, RATE_LIMIT_BODY))
    async with stack.client(endpoint=hostile.url, rate_budget=budget, retry=NO_RETRY) as turn:
        with pytest.raises(RateLimited) as served:
            await turn.total(SINCE, NOW)
    assert served.value.status == 429
    assert file_pause(path) <= time.time() + 600 + READ_SLACK
    # A restart (or another process) on the same file sees a bounded pause, called a pause.
    restarted = RateLimiter(RateBudget(limit=50, window=600, mode=RateMode.FAIL_FAST, path=path))
    with pytest.raises(RateLimited) as refused:
        await restarted.acquire(1)
    assert_is_a_pause(refused.value, 600)


@pytest.mark.parametrize("seconds", [1e9, math.inf, math.nan, 1e308])
@pytest.mark.parametrize("shared", [False, True])
async def test_every_recorded_pause_is_bounded(
    tmp_path: Path, seconds: float, shared: bool
) -> None:
    # The classifier may bound Retry-After too; the budget must hold whatever reaches it.
    path = tmp_path / "b.db" if shared else None
    budget = RateBudget(limit=5, window=60, max_pause=7, mode=RateMode.FAIL_FAST, path=path)
    limiter = RateLimiter(budget)
    limiter.pause(seconds)
    with pytest.raises(RateLimited) as refused:
        await limiter.acquire(1)
    assert_is_a_pause(refused.value, 7)  # an unreadable wait (nan) is paused for the bound
    if path is not None:
        assert math.isfinite(file_pause(path))
        assert file_pause(path) <= time.time() + 7


def test_default_pause_bound_is_the_window_and_at_least_cloudflares() -> None:
    assert RateBudget(window=600).pause_bound == 600
    assert RateBudget(window=42).pause_bound == 300  # Cloudflare's "after 5 minutes" holds
    assert RateBudget(window=42, max_pause=3).pause_bound == 3


async def test_a_year_9999_pause_in_an_old_file_is_clamped(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE grants (at REAL NOT NULL, cost INT NOT NULL)")
    db.execute("CREATE TABLE pause (id INT PRIMARY KEY, until REAL)")
    db.execute("INSERT INTO pause (id, until) VALUES (1, ?)", (YEAR_9999_EPOCH,))
    db.commit()
    db.close()
    budget = RateBudget(limit=5, window=20, mode=RateMode.FAIL_FAST, path=path)
    limiter = RateLimiter(budget)
    with pytest.raises(RateLimited) as refused:
        await limiter.acquire(1)
    assert_is_a_pause(refused.value, budget.pause_bound)
    # Clamped in the file too (once), so the pause ends instead of sliding forward forever.
    stored = file_pause(path)
    assert stored <= time.time() + budget.pause_bound
    with pytest.raises(RateLimited):
        await limiter.acquire(1)
    assert file_pause(path) == stored


async def test_a_grant_from_a_clock_in_the_future_cannot_block_the_file(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    ahead = RateLimiter(RateBudget(limit=1, window=10, path=path), clock=lambda: 1e12)
    await ahead.acquire(1)
    clock = FakeMonotonic()
    limiter = RateLimiter(
        RateBudget(limit=1, window=10, mode=RateMode.FAIL_FAST, path=path), clock=clock
    )
    with pytest.raises(RateLimited) as refused:
        await limiter.acquire(1)
    assert refused.value.retry_after is not None
    assert refused.value.retry_after <= 10.1
    clock.now += 10.1
    await limiter.acquire(1)


async def test_a_successful_answer_clears_the_pause(stack: Stack, hostile: HostileServer) -> None:
    # Two requests in flight: one is refused with an absurd wait, the other then succeeds.
    hostile.script += [
        Scripted(429, {"Retry-After": "1000000000"}, RATE_LIMIT_BODY),
        Scripted(delay=0.3),
    ]
    budget = RateBudget(limit=50, window=600)
    retry = RetryPolicy(max_attempts=1, total_time=2.0)
    async with stack.client(endpoint=hostile.url, rate_budget=budget, retry=retry) as turn:
        outcomes = await asyncio.gather(
            turn.total(SINCE, NOW),
            turn.total(SINCE - timedelta(hours=1), NOW),
            return_exceptions=True,
        )
        assert sorted(type(o).__name__ for o in outcomes) == ["RateLimited", "UsageTotals"]
        # The server answered after the pause was recorded: the next request goes out.
        third = await turn.total(SINCE - timedelta(hours=2), NOW)
    assert third.egress_bytes > 0
    assert hostile.requests == 3


# -- item 6: foreign exceptions from the budget file -------------------------------------------


def not_sqlite(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"this is not a SQLite database, just some text\n" * 20)
    return path


def a_directory(tmp_path: Path) -> Path:
    return tmp_path


def missing_parent(tmp_path: Path) -> Path:
    return tmp_path / "no" / "such" / "dir" / "budget.db"


@pytest.mark.parametrize("bad_path", [not_sqlite, a_directory, missing_parent])
def test_an_unusable_budget_file_is_a_config_error(
    tmp_path: Path, bad_path: Callable[[Path], Path]
) -> None:
    path = bad_path(tmp_path)
    with pytest.raises(ConfigError, match="rate budget file") as caught:
        RateLimiter(RateBudget(path=path))
    assert str(path) in str(caught.value)


async def test_a_budget_file_spoiled_after_construction_is_a_config_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "budget.db"
    limiter = RateLimiter(RateBudget(limit=5, path=path))
    await limiter.acquire(1)
    path.unlink()
    path.write_bytes(b"garbage, not a database" * 50)
    with pytest.raises(ConfigError, match="rate budget file") as caught:
        await limiter.acquire(1)
    assert str(path) in str(caught.value)


LOCK_HOLDER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()  # hold the lock until the test closes our stdin
db.execute("COMMIT")
"""


class LockHolder:
    """A second real process holding the budget file's exclusive lock."""

    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", LOCK_HOLDER, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def __enter__(self) -> LockHolder:
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "locked"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)
        self.process.stdout.close()


async def test_a_file_locked_past_the_busy_timeout_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "budget.db"
    limiter = RateLimiter(RateBudget(limit=5, path=path))  # default lock timeout
    with LockHolder(path), pytest.raises(TurnmeterError) as caught:
        await limiter.acquire(1)
    assert isinstance(caught.value, RateLimited)
    message = str(caught.value)
    assert "locked for 5 s by another process" in message
    assert str(path) in message
    await limiter.acquire(1)  # the lock is gone: the budget works again


async def test_lock_timeout_is_configurable_and_covers_every_use(tmp_path: Path) -> None:
    path = tmp_path / "budget.db"
    budget = RateBudget(limit=5, path=path, lock_timeout=0.2)
    limiter = RateLimiter(budget)
    with LockHolder(path):
        with pytest.raises(RateLimited, match=r"locked for 0\.2 s by another process"):
            await limiter.acquire(1)
        with pytest.raises(RateLimited, match="locked"):
            RateLimiter(budget)
        with pytest.raises(RateLimited, match="locked"):
            limiter.used()
        limiter.pause(5)  # best effort: never replaces the server's own error
        await limiter.server_answered()  # best effort too
    assert limiter.used() == 0


# -- item 7: grants recorded at their own time; no window sees more than the limit ---------------

GRANTER = """
import asyncio, json, sys, time
from turnmeter.transport.ratelimit import RateBudget, RateLimiter

path, limit, window, count, start = sys.argv[1:]

async def main() -> None:
    limiter = RateLimiter(RateBudget(limit=int(limit), window=float(window), path=path))
    while time.time() < float(start):
        await asyncio.sleep(0.005)
    times = []
    for _ in range(int(count)):
        grant = await limiter.acquire(1)
        times.append(time.time())  # as close to the request leaving as a caller gets
        limiter.sent(grant)  # answered at once, as the transport reports it
    await limiter.aclose()
    print(json.dumps(times))

asyncio.run(main())
"""

#: A competitor that holds the file's write lock briefly and often, as a busy process does.
SLOW_COMPETITOR = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
while True:
    db.execute("BEGIN EXCLUSIVE")
    time.sleep(0.08)
    db.execute("COMMIT")
    time.sleep(0.03)
"""

LIMIT = 10
WINDOW = 1.0


def most_in_any_window(times: list[float], window: float) -> int:
    """The most grants inside any closed window of length ``window`` (from the times alone)."""
    times = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] > window:
            start += 1
        most = max(most, end - start + 1)
    return most


def test_window_counter_counts_closed_windows() -> None:
    assert most_in_any_window([0.0, 0.5, 1.0, 1.0001], 1.0) == 3
    assert most_in_any_window([0.0, 1.0001, 2.0002], 1.0) == 1


def test_processes_sharing_a_file_never_exceed_the_limit_in_any_window(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    RateLimiter(RateBudget(limit=LIMIT, window=WINDOW, path=path))  # create the file
    competitor = subprocess.Popen([sys.executable, "-c", SLOW_COMPETITOR, str(path)])
    start = time.time() + 1.5  # every worker is ready before the first grant
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", GRANTER, str(path), str(LIMIT), str(WINDOW), "8", str(start)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    try:
        outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    finally:
        competitor.terminate()
        competitor.wait(timeout=10)
    assert all(worker.returncode == 0 for worker in workers)
    times = [at for output in outputs for at in json.loads(output)]
    assert len(times) == 32
    assert most_in_any_window(times, WINDOW) <= LIMIT


async def test_a_file_grant_counts_from_its_answer_not_from_its_stamp(tmp_path: Path) -> None:
    clock = FakeMonotonic()
    budget = RateBudget(limit=1, window=60, path=tmp_path / "b.db", mode=RateMode.FAIL_FAST)
    limiter = RateLimiter(budget, clock=clock)
    span = 60 + GRANT_SAFETY_MARGIN
    grant = await limiter.acquire(1)
    assert grant is not None
    clock.now += 4  # the request was stuck in a busy process for 4 s before it went out
    limiter.sent(grant)
    clock.now += span - 1  # the stamp alone would have freed the slot by now
    with pytest.raises(RateLimited) as refused:
        await limiter.acquire(1)
    assert refused.value.retry_after == pytest.approx(1.0)  # 4 s later than its stamp said
    clock.now += 1
    await limiter.acquire(1)
    await limiter.aclose()


async def test_a_file_grant_stalled_past_its_window_is_counted_again(tmp_path: Path) -> None:
    clock = FakeMonotonic()
    budget = RateBudget(limit=2, window=60, path=tmp_path / "b.db", mode=RateMode.FAIL_FAST)
    stalled, other = RateLimiter(budget, clock=clock), RateLimiter(budget, clock=clock)
    grant = await stalled.acquire(1)
    clock.now += 100  # longer than the whole window: the file forgot the grant
    await other.acquire(1)
    stalled.sent(grant)  # ... but the request went out just now, so it counts again
    await stalled.aclose()
    assert other.used() == 2
    with pytest.raises(RateLimited):
        await other.acquire(1)


async def test_a_restamp_the_file_lock_keeps_out_is_dropped_with_a_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "budget.db"
    limiter = RateLimiter(RateBudget(limit=5, path=path, lock_timeout=0.2))
    grant = await limiter.acquire(1)
    with LockHolder(path):
        limiter.sent(grant)  # never waits for the lock
        await limiter.aclose()
    assert "re-stamp" in caplog.text
    assert limiter.used() == 1  # the grant still counts, from its first stamp


async def test_tasks_sharing_a_file_in_one_process_never_exceed_the_limit(tmp_path: Path) -> None:
    # Many tasks, one process: the grants queue for the worker threads and the file's lock.
    limiter = RateLimiter(RateBudget(limit=LIMIT, window=0.5, path=tmp_path / "one.db"))
    times: list[float] = []

    async def take() -> None:
        grant = await limiter.acquire(1)
        times.append(time.time())
        limiter.sent(grant)

    await asyncio.gather(*(take() for _ in range(30)))
    await limiter.aclose()
    assert most_in_any_window(times, 0.5) <= LIMIT


async def test_memory_window_never_exceeds_the_limit_in_a_closed_window() -> None:
    limiter = RateLimiter(RateBudget(limit=5, window=0.2))
    times: list[float] = []

    async def take() -> None:
        await limiter.acquire(1)
        times.append(time.monotonic())

    await asyncio.gather(*(take() for _ in range(25)))
    assert most_in_any_window(times, 0.2) <= 5


# -- item 9: every parameter validated at construction ------------------------------------------


@pytest.mark.parametrize(
    ("changes", "parameter"),
    [
        ({"limit": "300"}, "limit"),
        ({"limit": True}, "limit"),
        ({"limit": 0}, "limit"),
        ({"limit": 2.5}, "limit"),
        ({"window": math.nan}, "window"),
        ({"window": math.inf}, "window"),
        ({"window": "5"}, "window"),
        ({"window": 0}, "window"),
        ({"window": True}, "window"),
        ({"max_pause": math.nan}, "max_pause"),
        ({"max_pause": math.inf}, "max_pause"),
        ({"max_pause": -1}, "max_pause"),
        ({"lock_timeout": math.nan}, "lock_timeout"),
        ({"lock_timeout": 0}, "lock_timeout"),
        ({"path": 42}, "path"),
        ({"path": ""}, "path"),
        ({"path": ":memory:"}, "path"),
        ({"mode": "wait"}, "mode"),
    ],
)
def test_every_budget_parameter_is_validated(changes: dict[str, Any], parameter: str) -> None:
    with pytest.raises(ConfigError, match=parameter):
        RateBudget(**changes)


def test_a_path_may_be_a_string(tmp_path: Path) -> None:
    budget = RateBudget(path=str(tmp_path / "s.db"))
    assert budget.path == tmp_path / "s.db"
