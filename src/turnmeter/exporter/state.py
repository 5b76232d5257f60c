"""The exporter's state file (SQLite): the watermark, the counters and this month's usage.

Every settled segment is written in one transaction together with the watermark it moves, so a
process killed at any moment (SIGKILL included) leaves either the state before the segment or
the state after it: on restart the exporter asks again from the watermark, and every minute is
counted exactly once. The write also checks that the watermark is still the one this process
read: a second exporter on the same file makes the later writer fail instead of adding the same
minutes twice.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from turnmeter.errors import ConfigError, TurnmeterError
from turnmeter.exporter.ledger import LabelKey, Pair, Plan

#: The layout this code writes; another number is refused rather than misread.
STATE_VERSION = "1"
#: How long to wait for another process's transaction on the file (seconds).
BUSY_TIMEOUT = 5.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (
    key_id TEXT NOT NULL, custom_identifier TEXT NOT NULL,
    egress INTEGER NOT NULL, ingress INTEGER NOT NULL,
    PRIMARY KEY (key_id, custom_identifier));
CREATE TABLE IF NOT EXISTS month_usage (
    key_id TEXT NOT NULL, custom_identifier TEXT NOT NULL,
    egress INTEGER NOT NULL, ingress INTEGER NOT NULL,
    PRIMARY KEY (key_id, custom_identifier));
"""
_ADD = (
    "INSERT INTO {table} (key_id, custom_identifier, egress, ingress) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (key_id, custom_identifier) DO UPDATE SET "
    "egress = egress + excluded.egress, ingress = ingress + excluded.ingress"
)


class StateWriteFailed(TurnmeterError):
    """The state file could not be written; nothing of the segment was counted."""


class StateConflict(TurnmeterError):
    """The state file's watermark moved under this process: another exporter writes to it."""


@dataclass(frozen=True, slots=True)
class SavedState:
    """What a state file holds."""

    watermark: datetime
    month: str
    counters: dict[LabelKey, Pair]
    month_usage: dict[LabelKey, Pair]


class StateStore:
    """One SQLite file (or an in-memory database for ``path=None``)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        target = ":memory:" if path is None else str(path)
        try:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            # One poll at a time writes (the poller holds a lock), from a worker thread.
            self._db = sqlite3.connect(
                target, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
            # WAL survives a killed process at every instant; NORMAL syncs at checkpoints only,
            # which loses nothing when the process (not the machine) dies.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot open the exporter state file {target}: {exc}") from None

    def close(self) -> None:
        self._db.close()

    def _meta(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT name, value FROM meta").fetchall())

    def load(self, labels: tuple[str, ...]) -> SavedState | None:
        """The saved state, or None for a new file; refuses a file kept with other labels."""
        try:
            meta = self._meta()
            if "watermark" not in meta:
                return None
            if meta.get("version") != STATE_VERSION:
                raise ConfigError(
                    f"exporter state file {self.path} has layout {meta.get('version')!r}, "
                    f"this turnmeter writes {STATE_VERSION!r}: use a new state file"
                )
            saved_labels = tuple(name for name in meta.get("labels", "").split(",") if name)
            if saved_labels != labels:
                raise ConfigError(
                    f"exporter state file {self.path} counts by labels "
                    f"{','.join(saved_labels) or 'none'}, not {','.join(labels) or 'none'}: its "
                    "counters would mean something else; use a new state file for new labels"
                )
            counters = self._pairs("counters")
            month_usage = self._pairs("month_usage")
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot read the exporter state file {self.path}: {exc}") from None
        return SavedState(
            watermark=datetime.fromisoformat(meta["watermark"]).astimezone(UTC),
            month=meta["month"],
            counters=counters,
            month_usage=month_usage,
        )

    def _pairs(self, table: str) -> dict[LabelKey, Pair]:
        rows = self._db.execute(f"SELECT key_id, custom_identifier, egress, ingress FROM {table}")
        return {(key, customer): (egress, ingress) for key, customer, egress, ingress in rows}

    def commit(self, plan: Plan, expected: datetime | None, labels: tuple[str, ...]) -> None:
        """Write ``plan`` and its new watermark in one transaction.

        ``expected`` is the watermark this process holds (None before the first write);
        :class:`StateConflict` if the file has another one.
        """
        segment = plan.segment
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                found = db.execute("SELECT value FROM meta WHERE name = 'watermark'").fetchone()
                held = None if expected is None else expected.isoformat()
                if (found[0] if found else None) != held:
                    raise StateConflict(
                        f"exporter state file {self.path}: the watermark is "
                        f"{found[0] if found else 'unset'}, this process expected {held}; "
                        "another exporter writes to the same file"
                    )
                if plan.new_month:
                    db.execute("DELETE FROM month_usage")
                db.executemany(
                    _ADD.format(table="month_usage"),
                    [(*key, *pair) for key, pair in segment.usage.items()],
                )
                db.executemany(
                    _ADD.format(table="counters"),
                    [(*key, *pair) for key, pair in plan.counter_deltas.items()],
                )
                db.executemany(
                    "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)",
                    [
                        ("version", STATE_VERSION),
                        ("labels", ",".join(labels)),
                        ("month", plan.month),
                        ("watermark", segment.end.isoformat()),
                    ],
                )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StateWriteFailed(
                f"cannot write the exporter state file {self.path}: {exc}"
            ) from None
