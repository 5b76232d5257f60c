"""The rate budget's window in a SQLite file, shared by several processes (wall-clock time).

Each decision is one ``BEGIN IMMEDIATE`` transaction, so two processes never both take the last
slot, and the grant's time is read *inside* it, once the write lock is held: a time read before
waiting for the lock would be recorded in the past and leave the window early.

Nothing from :mod:`sqlite3` escapes: an unusable path is a :class:`ConfigError` naming it, a
lock held by another process for longer than ``lock_timeout`` is a
:class:`~turnmeter.errors.RateLimited` saying so. Whatever an older turnmeter (or a process with
a wrong clock) left in the file is clamped on read: no pause beyond the bound, no grant in the
future.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from turnmeter.errors import ConfigError, TurnmeterError
from turnmeter.transport.ratelimit_store import Verdict, bound_pause, locked_refusal, wait_for

if TYPE_CHECKING:
    from turnmeter.transport.ratelimit import RateBudget

#: Seconds a file-backed grant stays in the window beyond ``window``. The grant's time is read
#: inside the transaction, but the request leaves only after the commit and the worker thread's
#: hand-back to the event loop; 50 ms covers that gap for the other processes' decisions until
#: the answer is in. Then :meth:`SQLiteStore.restamp` counts the grant from its answer, so a
#: longer stall (a loaded host, a GC pause) makes the window conservative, never short.
GRANT_SAFETY_MARGIN = 0.05
#: SQLite's result codes for "another connection holds the lock".
_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS grants (at REAL NOT NULL, cost INT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS pause (id INT PRIMARY KEY, until REAL)",
)


class SQLiteStore:
    """The window in a SQLite file shared by several processes (wall-clock timestamps)."""

    def __init__(
        self, budget: RateBudget, path: Path, clock: Callable[[], float] = time.time
    ) -> None:
        assert budget.limit is not None
        self._limit = budget.limit
        self._span = budget.window + GRANT_SAFETY_MARGIN
        self._bound = budget.pause_bound
        self._timeout = budget.lock_timeout
        self._path = path
        self._clock = clock
        with self._transaction() as db:
            for statement in _SCHEMA:
                db.execute(statement)

    def decide(self, cost: int, now: float | None = None) -> Verdict:
        with self._transaction() as db:
            # The grant's own time: read now that this process holds the write lock.
            now = self._clock() if now is None else now
            db.execute("DELETE FROM grants WHERE at <= ?", (now - self._span,))
            _forget_the_future(db, now)
            until = self._current_pause(db, now)
            if until is not None:
                return Verdict(until - now, until)
            entries = db.execute("SELECT at, cost FROM grants ORDER BY at").fetchall()
            used = sum(spent for _, spent in entries)
            if used + cost <= self._limit:
                db.execute("INSERT INTO grants (at, cost) VALUES (?, ?)", (now, cost))
                # The stamp names the row for restamp(): repr() round-trips the float exactly.
                return Verdict(0.0, grant=f"{now!r}:{cost}")
            return Verdict(wait_for(entries, used, cost, self._limit, self._span, now))

    def restamp(self, grant: str, answered: float | None = None) -> None:
        """Count ``grant`` (from :meth:`decide`) from ``answered`` (default: now), when its
        request's answer came in.

        A grant the window already forgot (its request stalled for longer than the window) is
        recorded again, since the request did go out. Two grants with one stamp are the same to
        the window, so whichever row moves, the count is right.
        """
        at_text, _, cost_text = grant.rpartition(":")
        at, cost = float(at_text), int(cost_text)
        with self._transaction() as db:
            now = max(self._clock() if answered is None else answered, at)
            moved = db.execute(
                "UPDATE grants SET at = ? WHERE rowid = "
                "(SELECT rowid FROM grants WHERE at = ? AND cost = ? LIMIT 1)",
                (now, at, cost),
            ).rowcount
            if not moved:
                db.execute("INSERT INTO grants (at, cost) VALUES (?, ?)", (now, cost))

    def take(self, cost: int, now: float | None = None) -> float:
        """Seconds to wait (0.0: granted and recorded)."""
        return self.decide(cost, now).wait

    def pause_for(self, seconds: float) -> None:
        with self._transaction() as db:
            now = self._clock()
            self._current_pause(db, now)  # clamp what is there before max() can keep it
            db.execute(
                "INSERT INTO pause (id, until) VALUES (1, ?) "
                "ON CONFLICT (id) DO UPDATE SET until = max(until, excluded.until)",
                (now + bound_pause(seconds, self._bound),),
            )

    def clear_pause(self) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM pause")

    def used(self, now: float | None = None) -> int:
        with self._transaction() as db:
            now = self._clock() if now is None else now
            row = db.execute(
                "SELECT COALESCE(SUM(cost), 0) FROM grants WHERE at > ? AND at <= ?",
                (now - self._span, now),
            ).fetchone()
            return int(row[0])

    def _current_pause(self, db: sqlite3.Connection, now: float) -> float | None:
        """The pause in force (clamped to the bound, in the file too), or None."""
        row = db.execute("SELECT until FROM pause WHERE id = 1").fetchone()
        if row is None:
            return None
        until = row[0]
        if not isinstance(until, int | float) or until != until:
            db.execute("DELETE FROM pause")  # not a time at all (an older or foreign writer)
            return None
        latest = now + self._bound
        if until > latest:
            # Written once, so the clamped pause ends instead of sliding forward on every read.
            db.execute("UPDATE pause SET until = ? WHERE id = 1", (latest,))
            until = latest
        return float(until) if now < until else None

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE takes the write lock
        # before reading, so two processes cannot both see the last free slot).
        db: sqlite3.Connection | None = None
        try:
            db = sqlite3.connect(self._path, timeout=self._timeout, isolation_level=None)
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise self._translate(exc) from None
        finally:
            if db is not None:
                db.close()  # rolls back whatever was not committed

    def _translate(self, exc: sqlite3.Error) -> TurnmeterError:
        if getattr(exc, "sqlite_errorcode", None) in _BUSY_CODES or "locked" in str(exc):
            return locked_refusal(self._path, self._timeout)
        return ConfigError(
            f"the rate budget file {self._path} cannot be used ({exc}); "
            "it must be a SQLite file (or a new file in an existing directory) this process "
            "may read and write"
        )


def _forget_the_future(db: sqlite3.Connection, now: float) -> None:
    # A grant stamped after ``now`` (a clock ahead, or garbage) would hold its slot for as long
    # as that clock is ahead; count it as given now instead. Rows that are no times are dropped.
    db.execute("DELETE FROM grants WHERE typeof(at) NOT IN ('real', 'integer')")
    db.execute("UPDATE grants SET at = ? WHERE at > ?", (now, now))
