"""Opening a ledger store from its URL.

``sqlite:///usage.db`` (relative), ``sqlite:////var/lib/turnmeter/usage.db`` (absolute) or a
plain path open the SQLite store; ``postgresql://user@host:5432/db`` (or ``postgres://``) the
PostgreSQL store. A password belongs in ``PGPASSWORD`` (or ``~/.pgpass``), never in the URL;
one given in the URL anyway is used but never shown: :attr:`LedgerStore.display` hides it.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from turnmeter.errors import ConfigError
from turnmeter.ledger.store import LedgerStore

SQLITE_PREFIX = "sqlite:///"
POSTGRES_SCHEMES = ("postgresql", "postgres")


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
