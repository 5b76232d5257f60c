"""The sandbox's usage rows in SQLite: one table at minute resolution, indexed for the queries.

Rows travel internally as plain tuples in column order (``RowTuple``) because building millions
of dataclasses costs more than the SQL itself.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from turnmeter.sandbox import rollup
from turnmeter.sandbox.model import UsageRow, epoch_minute, from_epoch
from turnmeter.sandbox.sql import (
    LIKE_FUNCTION,
    TABLE,
    GroupQuery,
    Projection,
    build_sql,
    decode_rows,
    like_matches,
    plain_columns,
)

#: (epoch minute, key id, username, custom id, city, code, country, region, egress, ingress, cc)
RowTuple = tuple[int, str, str, str, str, str, str, str, int, int, int]

COLUMNS = ("m", *rollup.KEY_COLUMNS, *rollup.METRIC_COLUMNS)

_CREATE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    m INTEGER NOT NULL,
    key_id TEXT NOT NULL,
    username TEXT NOT NULL,
    custom_identifier TEXT NOT NULL,
    datacenter_city TEXT NOT NULL,
    datacenter_code TEXT NOT NULL,
    datacenter_country TEXT NOT NULL,
    datacenter_region TEXT NOT NULL,
    egress_bytes INTEGER NOT NULL,
    ingress_bytes INTEGER NOT NULL,
    concurrent_connections INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_METRICS = "m, egress_bytes, ingress_bytes, concurrent_connections"
# Built after the bulk insert (cheaper than maintaining them row by row). The covering
# indexes let the usual top-N and time-series queries read an index instead of the table.
_INDEXES = f"""
CREATE INDEX IF NOT EXISTS usage_minute ON {TABLE} ({_METRICS});
CREATE INDEX IF NOT EXISTS usage_customer ON {TABLE} (custom_identifier, {_METRICS});
CREATE INDEX IF NOT EXISTS usage_key ON {TABLE} (key_id, {_METRICS});
CREATE INDEX IF NOT EXISTS usage_hour ON {TABLE} ((m - m % 3600), {_METRICS});
CREATE INDEX IF NOT EXISTS usage_day ON {TABLE} ((m - m % 86400), {_METRICS});
"""


def row_tuple(row: UsageRow) -> RowTuple:
    """A UsageRow in the store's column order."""
    return (
        epoch_minute(row.minute),
        row.key_id,
        row.username,
        row.custom_identifier,
        row.datacenter_city,
        row.datacenter_code,
        row.datacenter_country,
        row.datacenter_region,
        row.egress_bytes,
        row.ingress_bytes,
        row.concurrent_connections,
    )


class UsageStore:
    """A SQLite database of usage rows; safe to query from worker threads (one at a time)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self._lock = threading.Lock()
        connection.create_function(LIKE_FUNCTION, 2, like_matches, deterministic=True)
        self._rollup = _build_rollup(connection)

    @classmethod
    def create(cls, rows: Iterable[RowTuple], path: Path | None = None) -> UsageStore:
        """A new store holding ``rows``: in memory, or in a new file at ``path``."""
        target = ":memory:" if path is None else str(path)
        if path is not None and path.exists():
            path.unlink()  # `seed --out` replaces the file rather than appending to it
        db = sqlite3.connect(target, check_same_thread=False)
        db.executescript(_CREATE)
        with db:  # one transaction: executemany in a single commit is what keeps seeding fast
            placeholders = ", ".join("?" * len(COLUMNS))
            db.executemany(f"INSERT INTO {TABLE} VALUES ({placeholders})", rows)
        db.executescript(_INDEXES)
        db.execute("ANALYZE")
        return cls(db)

    @classmethod
    def open(cls, path: Path) -> UsageStore:
        """An existing database file (from ``turnmeter sandbox seed``), opened read-only."""
        if not path.is_file():
            raise FileNotFoundError(f"no sandbox database at {path}")
        db = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
        )
        db.execute(f"SELECT 1 FROM {TABLE} LIMIT 1")  # fail now if it is not our database
        return cls(db)

    def set_meta(self, key: str, value: str) -> None:
        """Record a fact about the data (for example the clock it was generated for)."""
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def meta(self, key: str) -> str | None:
        """A recorded fact, or None."""
        with self._lock:
            found = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if found is None else str(found[0])

    def group(self, query: GroupQuery) -> list[dict[str, Any]]:
        """Answer one TURN node with one SQL statement."""
        return decode_rows(query, self.fetch(query))

    def fetch(self, query: GroupQuery) -> list[Any]:
        """The SQL rows answering ``query``, before they become group objects."""
        sql, params = self.statement(query)
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def group_json(self, query: GroupQuery, project: Projection) -> str | None:
        """The groups answering ``query`` as one JSON array, each written by SQLite through
        ``project`` (see :mod:`.json_groups`); None when a row's state column says the general
        path must build the answer instead."""
        sql, params = self.statement(query, project=project)
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        texts: list[str] = []
        append = texts.append
        for text, state in rows:
            if state > 0:
                append(text)
            elif state < 0:
                return None
        return f"[{','.join(texts)}]"

    def statement(
        self, query: GroupQuery, *, use_rollup: bool = True, project: Projection = plain_columns
    ) -> tuple[str, list[Any]]:
        """The SQL answering ``query``: over the hourly rollup where it may, else raw rows."""
        found = rollup.rollup_sql(query, project) if use_rollup and self._rollup else None
        return found if found is not None else build_sql(query, project)

    def explain(self, query: GroupQuery) -> list[str]:
        """SQLite's query plan for ``query`` (for the benchmark and for curiosity)."""
        sql, params = self.statement(query)
        with self._lock:
            plan = self._db.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
        return [str(step[-1]) for step in plan]

    def count(self) -> int:
        """How many raw rows the store holds."""
        with self._lock:
            return int(self._db.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0])

    def rows(self) -> list[UsageRow]:
        """Every raw row, in a stable order."""
        with self._lock:
            found = self._db.execute(
                f"SELECT {', '.join(COLUMNS)} FROM {TABLE} ORDER BY {', '.join(COLUMNS[:8])}"
            ).fetchall()
        return [UsageRow(from_epoch(r[0]), *r[1:]) for r in found]

    def add(self, rows: Iterable[UsageRow]) -> int:
        """Insert ``rows`` (late data arriving after the fact); returns how many were added.

        A store opened read-only from a seeded file refuses with sqlite3's own error: the file
        belongs to ``turnmeter sandbox seed``.
        """
        tuples = [row_tuple(row) for row in rows]
        placeholders = ", ".join("?" * len(COLUMNS))
        with self._lock, self._db:  # one transaction: a reader sees all of them or none
            self._db.executemany(f"INSERT INTO {TABLE} VALUES ({placeholders})", tuples)
            if self._rollup:
                _refill_hours(self._db, {t[0] - t[0] % rollup.HOUR for t in tuples})
        return len(tuples)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()


def _build_rollup(db: sqlite3.Connection) -> bool:
    """Build the hourly rollup in an attached in-memory schema; False if it cannot be built.

    In memory, so a seeded file opened read-only gets one too. A sum too large for SQLite's
    64-bit integers fails here as it would in the query: those stores read raw rows only.
    """
    try:
        db.execute("ATTACH DATABASE ':memory:' AS rollup")
        with db:
            db.executescript(rollup.CREATE)
            db.execute(rollup.FILL.format(where="1"))
        db.executescript(rollup.INDEXES)
        db.execute("ANALYZE rollup")
    except sqlite3.Error:
        return False
    return True


#: Hours rebuilt per statement when late rows arrive (well under SQLite's parameter limit).
_REFILL_CHUNK = 500


def _refill_hours(db: sqlite3.Connection, hours: set[int]) -> None:
    """Rebuild the rollup rows of ``hours`` from the raw rows (inside the caller's transaction)."""
    ordered = sorted(hours)
    for index in range(0, len(ordered), _REFILL_CHUNK):
        chunk = ordered[index : index + _REFILL_CHUNK]
        marks = ", ".join("?" * len(chunk))
        db.execute(f"DELETE FROM {rollup.ROLLUP_TABLE} WHERE m IN ({marks})", chunk)
        db.execute(rollup.FILL.format(where=f"(m - m % {rollup.HOUR}) IN ({marks})"), chunk)
