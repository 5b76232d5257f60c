"""The SQLite ledger store (stdlib ``sqlite3``), run on one worker thread off the event loop.

WAL journal with ``synchronous=FULL``: a committed window survives a killed process (and a power
cut); one transaction per window (``BEGIN IMMEDIATE ... COMMIT``) means a crash leaves either the
old window or the new one. All calls go through a single-thread executor, so the connection is
only ever used by the thread that made it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from turnmeter.errors import LedgerError
from turnmeter.ledger import statements as sql
from turnmeter.ledger.migrations import LATEST, VERSION_KEY, pending
from turnmeter.ledger.model import BucketRow, Cover, Series, SeriesSpec
from turnmeter.ledger.store import LedgerStore
from turnmeter.ledger.versioning import check_version

T = TypeVar("T")

#: How long a writer waits for another process's transaction on the same file (seconds).
BUSY_TIMEOUT = 30.0


class SQLiteStore(LedgerStore):
    """A ledger in one SQLite file (created with its folder if missing)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.display = f"sqlite:///{self.path}"
        self._executor: ThreadPoolExecutor | None = None
        self._db: sqlite3.Connection | None = None

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._executor is None or self._db is None:
            raise LedgerError(f"the ledger {self.display} is not open")
        db = self._db

        def call() -> T:
            try:
                return work(db)
            except BaseException as exc:
                # Whatever failed mid-transaction, the window is left as it was before it.
                if db.in_transaction:
                    db.rollback()
                if isinstance(exc, sqlite3.Error):
                    raise LedgerError(f"ledger {self.display}: {exc}") from None
                raise

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def open(self, target_version: int = LATEST) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="turnmeter-ledger")
        loop = asyncio.get_running_loop()
        try:
            self._db = await loop.run_in_executor(self._executor, self._connect)
        except (OSError, sqlite3.Error) as exc:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise LedgerError(f"cannot open the ledger {self.display}: {exc}") from None
        try:
            await self._run(lambda db: _migrate(db, target_version, self.display))
        except BaseException:
            await self.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        return db

    async def close(self) -> None:
        if self._executor is None:
            return
        db, executor = self._db, self._executor
        self._db = self._executor = None
        if db is not None:
            await asyncio.get_running_loop().run_in_executor(executor, db.close)
        executor.shutdown(wait=True)

    async def version(self) -> int:
        return await self._run(_version)

    async def all_series(self) -> list[Series]:
        return await self._run(_series)

    async def ensure_series(self, spec: SeriesSpec, since: int) -> Series:
        def work(db: sqlite3.Connection) -> Series:
            db.execute("BEGIN IMMEDIATE")
            found = _find(db, spec)
            if found is None:
                db.execute(sql.INSERT_SERIES, (spec.grain, ",".join(spec.dimensions), since))
            else:
                db.execute(sql.LOWER_SINCE, (since, found.id, since))
            db.execute("COMMIT")
            result = _find(db, spec)
            assert result is not None
            return result

        return await self._run(work)

    async def coverage(self, series_id: int) -> list[Cover]:
        def work(db: sqlite3.Connection) -> list[Cover]:
            rows = db.execute(sql.SELECT_COVERAGE, (series_id,)).fetchall()
            return [Cover(start, fetched, bool(settled)) for start, fetched, settled in rows]

        return await self._run(work)

    async def replace_window(
        self,
        series_id: int,
        start: int,
        end: int,
        rows: Sequence[BucketRow],
        covers: Sequence[Cover],
    ) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            db.execute(sql.DELETE_WINDOW, (series_id, start, end))
            db.executemany(sql.INSERT_BUCKET, ((series_id, *row) for row in rows))
            db.executemany(
                sql.UPSERT_COVER,
                ((series_id, c.bucket_start, c.fetched_at, int(c.settled)) for c in covers),
            )
            db.execute("COMMIT")

        await self._run(work)

    async def aggregate(
        self, series_id: int, start: int, end: int, step: int | None, columns: tuple[str, ...]
    ) -> list[tuple[Any, ...]]:
        text = sql.aggregate(step, columns)
        return await self._run(lambda db: db.execute(text, (series_id, start, end)).fetchall())

    async def rows(self, series_id: int) -> list[BucketRow]:
        return await self._run(lambda db: db.execute(sql.SELECT_ROWS, (series_id,)).fetchall())

    async def size_bytes(self) -> int:
        def work(db: sqlite3.Connection) -> int:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return sum(
                p.stat().st_size
                for p in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm"))
                if p.exists()
            )

        return await self._run(work)


def _version(db: sqlite3.Connection) -> int:
    exists = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ledger_meta'"
    ).fetchone()
    if exists is None:
        return 0
    row = db.execute(sql.SELECT_VERSION, (VERSION_KEY,)).fetchone()
    return int(row[0]) if row else 0


def _migrate(db: sqlite3.Connection, target: int, display: str) -> None:
    db.execute("BEGIN IMMEDIATE")  # one process migrates; others wait, then find it done
    try:
        current = _version(db)
        check_version(current, display)
        for migration in pending(current, target):
            for statement in migration.statements["sqlite"]:
                db.execute(statement)
            db.execute(sql.UPSERT_VERSION, (VERSION_KEY, str(migration.version)))
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.rollback()
        raise


def _series(db: sqlite3.Connection) -> list[Series]:
    return [
        Series(id_, SeriesSpec(grain, tuple(filter(None, dims.split(",")))), since)
        for id_, grain, dims, since in db.execute(sql.SELECT_SERIES).fetchall()
    ]


def _find(db: sqlite3.Connection, spec: SeriesSpec) -> Series | None:
    return next((s for s in _series(db) if s.spec == spec), None)
