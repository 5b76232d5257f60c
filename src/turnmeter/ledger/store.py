"""The one interface every ledger store implements, and opening a store from its URL.

``sqlite:///usage.db`` (relative), ``sqlite:////var/lib/turnmeter/usage.db`` (absolute) or a
plain path open the SQLite store; ``postgresql://user@host:5432/db`` (or ``postgres://``) the
PostgreSQL store. A password belongs in ``PGPASSWORD`` (or ``~/.pgpass``), never in the URL;
one given in the URL anyway is used but never shown: :attr:`LedgerStore.display` hides it.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from turnmeter.errors import ConfigError
from turnmeter.ledger.migrations import LATEST
from turnmeter.ledger.model import BucketRow, Cover, Series, SeriesSpec

SQLITE_PREFIX = "sqlite:///"
POSTGRES_SCHEMES = ("postgresql", "postgres")


class LedgerStore(abc.ABC):
    """Where the ledger lives. Every method is a coroutine; none blocks the event loop."""

    #: The store's URL with any password hidden: safe for logs, reprs and messages.
    display: str

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.display!r})"

    @abc.abstractmethod
    async def open(self, target_version: int = LATEST) -> None:
        """Connect, and migrate the schema up to ``target_version``."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def version(self) -> int:
        """The schema version the store is at (0: empty)."""

    @abc.abstractmethod
    async def all_series(self) -> list[Series]: ...

    @abc.abstractmethod
    async def ensure_series(self, spec: SeriesSpec, since: int) -> Series:
        """The stored series for ``spec``, created if missing; an earlier ``since`` extends it."""

    @abc.abstractmethod
    async def coverage(self, series_id: int) -> list[Cover]:
        """Every covered bucket of a series, oldest first."""

    @abc.abstractmethod
    async def replace_window(
        self,
        series_id: int,
        start: int,
        end: int,
        rows: Sequence[BucketRow],
        covers: Sequence[Cover],
    ) -> None:
        """In one transaction: the bucket rows of ``[start, end)`` become ``rows`` (upserted by
        key, rows the new answer no longer has removed) and ``covers`` are recorded."""

    @abc.abstractmethod
    async def aggregate(
        self, series_id: int, start: int, end: int, step: int | None, columns: tuple[str, ...]
    ) -> list[tuple[Any, ...]]:
        """``(time bucket?, *columns, egress, ingress)`` sums over buckets starting in
        ``[start, end)``; the time bucket (epoch seconds) only when ``step`` is given."""

    @abc.abstractmethod
    async def rows(self, series_id: int) -> list[BucketRow]:
        """Every bucket row of a series, in key order (exports, byte-for-byte comparisons)."""

    @abc.abstractmethod
    async def size_bytes(self) -> int:
        """Space the ledger takes on disk."""


def open_store(url: str | Path) -> LedgerStore:
    """The (not yet opened) store ``url`` names; see the module docstring for the forms."""
    if isinstance(url, Path):
        return _sqlite(url)
    if not isinstance(url, str) or not url.strip():
        raise ConfigError("a ledger store is a sqlite:///PATH or postgresql://... URL")
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in POSTGRES_SCHEMES:
        from turnmeter.ledger.postgres_store import PostgresStore

        return PostgresStore(url, redacted(url))
    if scheme == "sqlite":
        if not url.startswith(SQLITE_PREFIX) or len(url) == len(SQLITE_PREFIX):
            raise ConfigError(
                f"a SQLite ledger URL is sqlite:///relative.db or sqlite:////absolute.db, "
                f"got {redacted(url)!r}"
            )
        return _sqlite(Path(url[len(SQLITE_PREFIX) :]))
    if scheme:
        raise ConfigError(
            f"unknown ledger store {redacted(url)!r}: use sqlite:///PATH or postgresql://..."
        )
    return _sqlite(Path(url))


def _sqlite(path: Path) -> LedgerStore:
    from turnmeter.ledger.sqlite_store import SQLiteStore

    return SQLiteStore(path)


def redacted(url: str) -> str:
    """``url`` with its password (and any query string, which may carry one) hidden."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, host = netloc.rpartition("@")
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
        query = "***" if parts.query else ""
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    except ValueError:
        return "<unparseable store URL>"
