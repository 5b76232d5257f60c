"""The client-side rate budget: a sliding window of query costs, shared by every task.

Cloudflare allows 300 queries per 5 minutes per user and counts every dataset node in a request.
A service with many tasks (or several worker processes) spends that budget together, so the
limiter sits in front of the wire: a request may go out only when the costs sent during the last
``window`` seconds plus its own cost stay within ``limit``. When the budget is spent a caller
waits (``RateMode.WAIT``) or gets :class:`~turnmeter.errors.RateLimited` at once
(``RateMode.FAIL_FAST``), with ``retry_after`` saying when a slot frees.

When the server itself says its budget is spent, the limiter pauses every grant for the wait it
gave, bounded by ``max_pause`` (default: the window, at least Cloudflare's 5 minutes), and the
next successful answer from the server ends the pause early. A refusal says which it is:
"client-side rate budget spent" or "paused by the server's rate limit until ...".

Three stores hold the window: memory (one process, :mod:`turnmeter.transport.ratelimit_store`),
a SQLite file (several processes on one host, :mod:`turnmeter.transport.ratelimit_sqlite`) or
Redis (every process on every host, :mod:`turnmeter.transport.ratelimit_redis`, with its
documented fallback while Redis is unreachable).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from turnmeter.errors import ConfigError, RateLimited, TurnmeterError
from turnmeter.transport.ratelimit_sqlite import GRANT_SAFETY_MARGIN, SQLiteStore
from turnmeter.transport.ratelimit_store import (
    CLIENT_BUDGET_CODE,
    MemoryStore,
    Store,
    Verdict,
    pause_refusal,
    spent_refusal,
)
from turnmeter.transport.redis_url import RedisURL

if TYPE_CHECKING:
    from turnmeter.transport.ratelimit_redis import RedisStore

__all__ = [
    "CLIENT_BUDGET_CODE",
    "DEFAULT_FALLBACK_SHARE",
    "DEFAULT_MAX_PAUSE",
    "DEFAULT_RATE_LIMIT",
    "DEFAULT_RATE_WINDOW",
    "DEFAULT_REDIS_KEY",
    "GRANT_SAFETY_MARGIN",
    "NO_RATE_BUDGET",
    "SQLITE_BUSY_TIMEOUT",
    "MemoryStore",
    "RateBudget",
    "RateLimiter",
    "RateMode",
    "SQLiteStore",
    "build_limiter",
]

# The name it had before the transport folder existed: users configure loggers by name.
_log = logging.getLogger("turnmeter.ratelimit")

#: Cloudflare's budget: 300 queries (dataset nodes) ...
DEFAULT_RATE_LIMIT = 300
#: ... per 5 minutes.
DEFAULT_RATE_WINDOW = 300.0
#: How long a worker waits for another process's SQLite transaction (seconds): decisions take
#: milliseconds, so a lock held this long means a stuck or suspended process.
SQLITE_BUSY_TIMEOUT = 5.0
#: The longest pause a server's rate limit causes, when the window is shorter: Cloudflare's own
#: window, so that its "try again after 5 minutes" is honoured even by a client that counts in
#: shorter windows. Longer waits (a billion seconds, ``inf``, the year 9999) are cut to the bound.
DEFAULT_MAX_PAUSE = DEFAULT_RATE_WINDOW
#: The default Redis key prefix (replicas that share a token share a key; set one per token).
DEFAULT_REDIS_KEY = "turnmeter:budget"
#: The default share of the limit a process may grant alone while Redis is unreachable: a
#: fleet of up to ten replicas stays within the real budget.
DEFAULT_FALLBACK_SHARE = 0.1
#: Paths SQLite would open as a private, unshared database: never a budget shared by anyone.
_UNSHARED_PATHS = frozenset({"", ":memory:"})


class RateMode(enum.Enum):
    """What a caller does when the budget is spent."""

    WAIT = "wait"
    FAIL_FAST = "fail_fast"


@dataclass(frozen=True, slots=True)
class RateBudget:
    """The budget's configuration. ``limit=None`` turns the limiter off.

    ``path`` (a str or path) shares the window between processes through a SQLite file (created
    if missing); ``lock_timeout`` is how long to wait for another process's hold on it.
    ``url`` (``redis://[user:password@]host:6379/0``, a secret: never shown with its password)
    shares it between every process on every host through Redis, under the keys named by
    ``redis_key`` (one per API token); there ``lock_timeout`` bounds each Redis command, and
    while Redis is unreachable a process grants alone from ``fallback_share`` of the limit
    (None: refuses every request). ``max_pause`` bounds every pause the server's rate limit
    causes (None: the window, and at least :data:`DEFAULT_MAX_PAUSE`).
    """

    limit: int | None = DEFAULT_RATE_LIMIT
    window: float = DEFAULT_RATE_WINDOW
    mode: RateMode = RateMode.WAIT
    path: Path | None = None
    max_pause: float | None = None
    lock_timeout: float = SQLITE_BUSY_TIMEOUT
    url: RedisURL | str | None = None  # kept as a RedisURL, whose repr hides the password
    redis_key: str = DEFAULT_REDIS_KEY
    fallback_share: float | None = DEFAULT_FALLBACK_SHARE

    def __post_init__(self) -> None:
        if self.limit is not None and (
            not isinstance(self.limit, int) or isinstance(self.limit, bool) or self.limit < 1
        ):
            raise ConfigError(
                "RateBudget limit must be a positive whole number of queries (or None), "
                f"not {self.limit!r}"
            )
        _check_seconds("window", self.window)
        if self.max_pause is not None:
            _check_seconds("max_pause", self.max_pause)
        _check_seconds("lock_timeout", self.lock_timeout)
        if not isinstance(self.mode, RateMode):
            raise ConfigError(f"RateBudget mode must be a RateMode, not {self.mode!r}")
        object.__setattr__(self, "path", _check_path(self.path))
        if self.url is not None:
            object.__setattr__(self, "url", RedisURL.of(self.url))
            if self.path is not None:
                raise ConfigError("RateBudget takes a path (SQLite) or a url (Redis), not both")
        if not isinstance(self.redis_key, str) or not self.redis_key.strip():
            raise ConfigError(
                f"RateBudget redis_key must be a non-empty string, not {self.redis_key!r}"
            )
        share = self.fallback_share
        if share is not None and not (
            isinstance(share, int | float)
            and not isinstance(share, bool)
            and math.isfinite(share)
            and 0 < share <= 1
        ):
            raise ConfigError(
                f"RateBudget fallback_share must be a fraction in (0, 1] or None, not {share!r}"
            )

    @property
    def pause_bound(self) -> float:
        """The longest pause the server's rate limit can cause (seconds)."""
        if self.max_pause is not None:
            return self.max_pause
        return max(self.window, DEFAULT_MAX_PAUSE)


def _check_seconds(name: str, value: object) -> None:
    try:
        ok = (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and value > 0
        )
    except OverflowError:  # an int too large for a float
        ok = False
    if not ok:
        raise ConfigError(
            f"RateBudget {name} must be a finite positive number of seconds, not {value!r}"
        )


def _check_path(path: object) -> Path | None:
    if path is None:
        return None
    if not isinstance(path, str | os.PathLike):
        raise ConfigError(f"RateBudget path must be a str or path, not {type(path).__name__}")
    text = os.fspath(path)
    if not isinstance(text, str) or text.strip() in _UNSHARED_PATHS:
        raise ConfigError(f"RateBudget path must name a file, not {text!r}")
    return Path(text)


#: No client-side budget at all.
NO_RATE_BUDGET = RateBudget(limit=None)


class RateLimiter:
    """Grants requests against a :class:`RateBudget`; share one instance between clients.

    A grant is recorded at the moment it is given and never handed back: the transport asks for
    it right before sending, so a recorded grant is a request that went (or may have gone) out.
    A caller cancelled while waiting holds no grant.
    """

    def __init__(self, budget: RateBudget, *, clock: Callable[[], float] | None = None) -> None:
        if not isinstance(budget, RateBudget):
            raise ConfigError(f"a RateLimiter needs a RateBudget, not {type(budget).__name__}")
        if budget.limit is None:
            raise ConfigError("a RateLimiter needs a limit; use no limiter for an unlimited budget")
        self.budget = budget
        self._shared = budget.path is not None
        # Processes share no monotonic clock, so the file-backed window uses wall time.
        self._clock = clock or (time.time if self._shared else time.monotonic)
        self._redis: RedisStore | None = None
        if budget.url is not None:
            from turnmeter.transport.ratelimit_redis import RedisStore

            # Redis stamps grants with its own clock unless a test gives one.
            self._redis = RedisStore(budget, clock)
        self._file = (
            SQLiteStore(budget, budget.path, self._clock) if budget.path is not None else None
        )
        self._store: Store = self._file or MemoryStore(budget, self._clock)
        # Re-stamps of answered grants still being written to the file.
        self._restamps: set[asyncio.Task[None]] = set()
        # The in-process window, which grants without awaiting (None: a shared store).
        self._memory = (
            self._store if isinstance(self._store, MemoryStore) and not self._redis else None
        )
        #: Whether this limiter knows of a pause that a successful answer should end (read by
        #: the transport, which then calls :meth:`server_answered`).
        self.pause_seen = False

    def __repr__(self) -> str:
        where = "" if self._redis is None else f", redis={self._redis.redis.url.shown!r}"
        return f"RateLimiter(limit={self.budget.limit}, window={self.budget.window:g}{where})"

    @property
    def store_down(self) -> str | None:
        """Why the shared store (Redis) is unreachable, while the fallback is in force."""
        down = None if self._redis is None else self._redis.down
        return None if down is None else str(down)

    def acquire_now(self, cost: int) -> bool:
        """Take ``cost`` at once, without awaiting, if this process's window has room: True.

        Only the in-process window answers this way. False takes nothing: then
        :meth:`acquire` waits, refuses or asks the shared store (SQLite, Redis), as it always
        does. A True grant needs no :meth:`sent`.
        """
        if self._memory is None:
            return False
        assert self.budget.limit is not None
        return cost <= self.budget.limit and self._memory.take_now(cost)

    async def acquire(self, cost: int, *, max_wait: float | None = None) -> str | None:
        """Take ``cost`` from the budget, waiting (at most ``max_wait`` s) if the mode allows.

        Returns the grant's name in a store that counts it from the answer on (Redis: pass it
        to :meth:`sent` once the request is answered), else None.
        """
        assert self.budget.limit is not None
        if cost > self.budget.limit:
            raise ConfigError(
                f"a request costing {cost} queries can never fit a budget of {self.budget.limit}"
            )
        waited = 0.0
        while True:
            verdict = await self._decide(cost)
            if verdict.wait <= 0:
                return verdict.grant
            self.pause_seen = self.pause_seen or verdict.paused_until is not None
            remaining = None if max_wait is None else max_wait - waited
            if self.budget.mode is RateMode.FAIL_FAST or (
                remaining is not None and verdict.wait > remaining
            ):
                raise self._refusal(verdict)
            await asyncio.sleep(verdict.wait)
            waited += verdict.wait

    def sent(self, grant: str | None) -> None:
        """The request of ``grant`` (from :meth:`acquire`) was answered or failed: a shared
        store counts it from now on, so a stall between grant and send cannot shorten the
        window. Never waits: Redis hears of it, and the file gets it, in the background (a
        decision of this process, and :meth:`aclose`, wait for the file's writes first)."""
        if grant is None:
            return
        if self._redis is not None:
            self._redis.restamp_soon(grant)
        elif self._file is not None:
            answered = self._clock()  # not when a busy lock lets the write through
            try:
                loop = asyncio.get_running_loop()
                task = loop.create_task(asyncio.to_thread(self._restamp_now, grant, answered))
            except RuntimeError:  # no event loop to write it from: write it now
                self._restamp_now(grant, answered)
                return
            self._restamps.add(task)
            task.add_done_callback(self._restamps.discard)

    def _restamp_now(self, grant: str, answered: float) -> None:
        assert self._file is not None
        try:
            self._file.restamp(grant, answered)
        except TurnmeterError as exc:  # best effort: the grant still counts from its stamp
            _log.warning("rate budget re-stamp not recorded: %s", exc)

    def pause(self, seconds: float) -> None:
        """Hold every grant for ``seconds`` (the server said its budget is spent), bounded by
        the budget's ``pause_bound``. Best effort: a locked file only loses the pause."""
        self.pause_seen = True
        if self._redis is not None:
            self._redis.pause_soon(seconds)  # this process at once, the fleet a round trip later
            return
        try:
            self._store.pause_for(seconds)
        except RateLimited as exc:
            _log.warning("rate budget pause not recorded: %s", exc)

    async def server_answered(self) -> None:
        """The server answered a request successfully: a pause it caused is over.

        A request already in flight when the pause began may end it too; if the server's budget
        really is spent, its next refusal pauses again (one request later).
        """
        if not self.pause_seen:
            return  # nothing to end: no file access on the common path
        self.pause_seen = False
        if self._redis is not None:
            await self._redis.clear_pause()  # best effort inside: Redis down keeps its bound
            return
        try:
            if self._shared:
                await asyncio.to_thread(self._store.clear_pause)
            else:
                self._store.clear_pause()
        except RateLimited as exc:  # best effort: the pause still ends at its bound
            _log.debug("rate budget pause not cleared: %s", exc)

    def used(self) -> int:
        """Queries counted in the current window (Redis budgets: use :meth:`used_now`)."""
        if self._redis is not None:
            raise ConfigError("a Redis budget is counted in Redis: await limiter.used_now()")
        return self._store.used()

    async def used_now(self) -> int:
        """Queries counted in the current window, from whichever store holds it."""
        if self._redis is not None:
            return await self._redis.used()
        if self._shared:
            return await asyncio.to_thread(self._store.used)
        return self._store.used()

    async def aclose(self) -> None:
        """Finish the file's re-stamps and close the connections to Redis."""
        if self._restamps:
            await asyncio.wait(set(self._restamps))
        if self._redis is not None:
            await self._redis.aclose()

    async def _decide(self, cost: int) -> Verdict:
        if self._redis is not None:
            return await self._redis.decide(cost)
        if not self._shared:
            return self._store.decide(cost)
        if self._restamps:  # this process's answered grants go in first
            await asyncio.wait(set(self._restamps))
        # SQLite may wait on another process's lock: keep that off the event loop. The store
        # reads the clock itself, once it holds the lock.
        return await asyncio.to_thread(self._store.decide, cost)

    def _refusal(self, verdict: Verdict) -> RateLimited:
        assert self.budget.limit is not None
        if verdict.paused_until is not None:
            return pause_refusal(verdict.wait, self.budget.pause_bound)
        if self._redis is not None and self._redis.down is not None:
            where = ": this process's share while the shared budget is unreachable"
            limit = self._redis.fallback_limit
            return spent_refusal(verdict.wait, limit, self.budget.window, where)
        return spent_refusal(verdict.wait, self.budget.limit, self.budget.window)


def build_limiter(budget: RateBudget | None) -> RateLimiter | None:
    """The limiter ``budget`` asks for, or None when it is off."""
    if budget is None or budget.limit is None:
        return None
    return RateLimiter(budget)
