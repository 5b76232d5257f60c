"""The client-side rate budget: a sliding window of query costs, shared by every task.

Cloudflare allows 300 queries per 5 minutes per user and counts every dataset node in a request.
A service with many tasks (or several worker processes) spends that budget together, so the
limiter sits in front of the wire: a request may go out only when the costs sent during the last
``window`` seconds plus its own cost stay within ``limit``. When the budget is spent a caller
waits (``RateMode.WAIT``) or gets :class:`~turnmeter.errors.RateLimited` at once
(``RateMode.FAIL_FAST``), with ``retry_after`` saying when a slot frees.

Two stores hold the window: memory (one process) or a SQLite file (several processes; each
decision is one ``BEGIN IMMEDIATE`` transaction, so processes never both take the last slot).
"""

from __future__ import annotations

import asyncio
import enum
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from turnmeter.errors import ConfigError, GraphQLErrorDetail, RateLimited

#: Cloudflare's budget: 300 queries (dataset nodes) ...
DEFAULT_RATE_LIMIT = 300
#: ... per 5 minutes.
DEFAULT_RATE_WINDOW = 300.0
#: How long a worker waits for another process's SQLite transaction (seconds).
SQLITE_BUSY_TIMEOUT = 5.0
#: ``extensions.code`` of the limiter's own refusal (nothing was sent).
CLIENT_BUDGET_CODE = "client_budget"


class RateMode(enum.Enum):
    """What a caller does when the budget is spent."""

    WAIT = "wait"
    FAIL_FAST = "fail_fast"


@dataclass(frozen=True, slots=True)
class RateBudget:
    """The budget's configuration. ``limit=None`` turns the limiter off.

    ``path`` shares the window between processes through a SQLite file (created if missing).
    """

    limit: int | None = DEFAULT_RATE_LIMIT
    window: float = DEFAULT_RATE_WINDOW
    mode: RateMode = RateMode.WAIT
    path: Path | None = None

    def __post_init__(self) -> None:
        if self.limit is not None and (isinstance(self.limit, bool) or self.limit < 1):
            raise ConfigError("rate limit must be a positive number of queries (or None)")
        if self.window <= 0:
            raise ConfigError("rate window must be positive")


#: No client-side budget at all.
NO_RATE_BUDGET = RateBudget(limit=None)


class _Store(Protocol):
    def take(self, cost: int, now: float) -> float:
        """Record ``cost`` at ``now`` and return 0.0, or return the seconds until it would fit."""
        ...

    def pause_until(self, until: float) -> None: ...

    def used(self, now: float) -> int: ...


def _wait_for(
    entries: Iterable[tuple[float, int]], used: int, cost: int, budget: RateBudget, now: float
) -> float:
    # Oldest first: how long until enough old costs leave the window for ``cost`` to fit.
    assert budget.limit is not None
    for at, spent in entries:
        used -= spent
        if used + cost <= budget.limit:
            return max(at + budget.window - now, 0.0) or 1e-3
    return budget.window  # unreachable while cost <= limit; a safe answer anyway


class MemoryStore:
    """The window in this process (asyncio is single-threaded: no lock needed)."""

    def __init__(self, budget: RateBudget) -> None:
        self._budget = budget
        self._log: deque[tuple[float, int]] = deque()
        self._used = 0
        self._paused_until = 0.0

    def _expire(self, now: float) -> None:
        horizon = now - self._budget.window
        while self._log and self._log[0][0] <= horizon:
            self._used -= self._log.popleft()[1]

    def take(self, cost: int, now: float) -> float:
        self._expire(now)
        if now < self._paused_until:
            return self._paused_until - now
        assert self._budget.limit is not None
        if self._used + cost <= self._budget.limit:
            self._log.append((now, cost))
            self._used += cost
            return 0.0
        return _wait_for(self._log, self._used, cost, self._budget, now)

    def pause_until(self, until: float) -> None:
        self._paused_until = max(self._paused_until, until)

    def used(self, now: float) -> int:
        self._expire(now)
        return self._used


class SQLiteStore:
    """The window in a SQLite file shared by several processes (wall-clock timestamps)."""

    def __init__(self, budget: RateBudget, path: Path) -> None:
        self._budget = budget
        self._path = path
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS grants (at REAL NOT NULL, cost INT NOT NULL)")
            db.execute("CREATE TABLE IF NOT EXISTS pause (id INT PRIMARY KEY, until REAL)")

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE takes the write lock
        # before reading, so two processes cannot both see the last free slot).
        return sqlite3.connect(self._path, timeout=SQLITE_BUSY_TIMEOUT, isolation_level=None)

    def take(self, cost: int, now: float) -> float:
        assert self._budget.limit is not None
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM grants WHERE at <= ?", (now - self._budget.window,))
            paused = db.execute("SELECT until FROM pause WHERE id = 1").fetchone()
            if paused is not None and now < paused[0]:
                db.execute("COMMIT")
                return float(paused[0]) - now
            entries = db.execute("SELECT at, cost FROM grants ORDER BY at").fetchall()
            used = sum(spent for _, spent in entries)
            if used + cost <= self._budget.limit:
                db.execute("INSERT INTO grants (at, cost) VALUES (?, ?)", (now, cost))
                db.execute("COMMIT")
                return 0.0
            db.execute("COMMIT")
            return _wait_for(entries, used, cost, self._budget, now)
        finally:
            db.close()

    def pause_until(self, until: float) -> None:
        db = self._connect()
        try:
            db.execute(
                "INSERT INTO pause (id, until) VALUES (1, ?) "
                "ON CONFLICT (id) DO UPDATE SET until = max(until, excluded.until)",
                (until,),
            )
        finally:
            db.close()

    def used(self, now: float) -> int:
        db = self._connect()
        try:
            row = db.execute(
                "SELECT COALESCE(SUM(cost), 0) FROM grants WHERE at > ?",
                (now - self._budget.window,),
            ).fetchone()
            return int(row[0])
        finally:
            db.close()


class RateLimiter:
    """Grants requests against a :class:`RateBudget`; share one instance between clients.

    A grant is recorded at the moment it is given and never handed back: the transport asks for
    it right before sending, so a recorded grant is a request that went (or may have gone) out.
    A caller cancelled while waiting holds no grant.
    """

    def __init__(self, budget: RateBudget, *, clock: Callable[[], float] | None = None) -> None:
        if budget.limit is None:
            raise ConfigError("a RateLimiter needs a limit; use no limiter for an unlimited budget")
        self.budget = budget
        self._shared = budget.path is not None
        # Processes share no monotonic clock, so the file-backed window uses wall time.
        self._clock = clock or (time.time if self._shared else time.monotonic)
        self._store: _Store = (
            SQLiteStore(budget, budget.path) if budget.path is not None else MemoryStore(budget)
        )

    def __repr__(self) -> str:
        return f"RateLimiter(limit={self.budget.limit}, window={self.budget.window:g})"

    async def acquire(self, cost: int, *, max_wait: float | None = None) -> None:
        """Take ``cost`` from the budget, waiting (at most ``max_wait`` s) if the mode allows."""
        assert self.budget.limit is not None
        if cost > self.budget.limit:
            raise ConfigError(
                f"a request costing {cost} queries can never fit a budget of {self.budget.limit}"
            )
        waited = 0.0
        while True:
            wait = await self._take(cost)
            if wait <= 0:
                return
            remaining = None if max_wait is None else max_wait - waited
            if self.budget.mode is RateMode.FAIL_FAST or (
                remaining is not None and wait > remaining
            ):
                raise _client_side_refusal(wait, self.budget)
            await asyncio.sleep(wait)
            waited += wait

    def pause(self, seconds: float) -> None:
        """Hold every grant for ``seconds`` (the server said its budget is spent)."""
        self._store.pause_until(self._clock() + seconds)

    def used(self) -> int:
        """Queries counted in the current window."""
        return self._store.used(self._clock())

    async def _take(self, cost: int) -> float:
        if not self._shared:
            return self._store.take(cost, self._clock())
        # SQLite may wait on another process's lock: keep that off the event loop.
        return await asyncio.to_thread(self._store.take, cost, self._clock())


def build_limiter(budget: RateBudget | None) -> RateLimiter | None:
    """The limiter ``budget`` asks for, or None when it is off."""
    if budget is None or budget.limit is None:
        return None
    return RateLimiter(budget)


def _client_side_refusal(wait: float, budget: RateBudget) -> RateLimited:
    detail = GraphQLErrorDetail(
        message=(
            f"client-side rate budget spent ({budget.limit} queries per {budget.window:g} s); "
            f"a slot frees in {wait:.3f} s"
        ),
        extensions={"code": CLIENT_BUDGET_CODE},
    )
    return RateLimited([detail], retry_after=wait)
