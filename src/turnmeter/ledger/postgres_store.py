"""The PostgreSQL ledger store, through asyncpg (the ``postgres`` extra).

asyncpg over psycopg 3: it is asyncio-native (no thread hop per call), speaks the binary
protocol without libpq, and its ``executemany`` pipelines a window's rows in one round trip
series, which is what one-transaction-per-window writes need. Every window is one transaction;
migrations take a transaction-scoped advisory lock so that two syncs starting together migrate
once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from turnmeter.errors import ConfigError, LedgerError
from turnmeter.ledger import statements as sql
from turnmeter.ledger.migrations import LATEST, VERSION_KEY, pending
from turnmeter.ledger.model import BucketRow, Cover, Series, SeriesSpec
from turnmeter.ledger.store import LedgerStore
from turnmeter.ledger.versioning import check_version

#: Connections a store keeps for a service: sync writes on one, reads may run beside it.
POOL_SIZE = 4
#: Seconds to wait for the server when connecting.
CONNECT_TIMEOUT = 10.0
_LOCK_KEY = 0x7475726E  # "turn": the advisory lock migrations take
_ENV_PASSWORD = "PGPASSWORD"


def _driver() -> Any:
    try:
        import asyncpg  # type: ignore[import-untyped]
    except ImportError:
        raise ConfigError(
            "a PostgreSQL ledger needs asyncpg: pip install 'turnmeter[postgres]'"
        ) from None
    return asyncpg


class PostgresStore(LedgerStore):
    """A ledger in a PostgreSQL database (the tables are created by the migrations)."""

    def __init__(self, url: str, display: str) -> None:
        self._url = url
        self.display = display
        self._pool: Any = None

    def _error(self, action: str, exc: BaseException) -> LedgerError:
        message = str(exc)
        for secret in _secrets(self._url):
            message = message.replace(secret, "***")
        return LedgerError(f"{action} the ledger {self.display}: {type(exc).__name__}: {message}")

    async def _call(self, action: str, work: Any) -> Any:
        driver = _driver()
        if self._pool is None:
            raise LedgerError(f"the ledger {self.display} is not open")
        try:
            async with self._pool.acquire() as conn:
                return await work(conn)
        except (driver.PostgresError, driver.InterfaceError, OSError) as exc:
            raise self._error(action, exc) from None

    async def open(self, target_version: int = LATEST) -> None:
        driver = _driver()
        try:
            self._pool = await driver.create_pool(
                self._url, min_size=1, max_size=POOL_SIZE, timeout=CONNECT_TIMEOUT
            )
        except (driver.PostgresError, driver.InterfaceError, OSError, ValueError) as exc:
            raise self._error("cannot open", exc) from None
        except TimeoutError:
            raise LedgerError(f"cannot open the ledger {self.display}: timed out") from None

        async def migrate(conn: Any) -> None:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
                current = await _version(conn)
                check_version(current, self.display)
                for migration in pending(current, target_version):
                    for statement in migration.statements["postgresql"]:
                        await conn.execute(statement)
                    await conn.execute(
                        sql.numbered(sql.UPSERT_VERSION), VERSION_KEY, str(migration.version)
                    )

        try:
            await self._call("cannot migrate", migrate)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def version(self) -> int:
        return int(await self._call("cannot read", _version))

    async def all_series(self) -> list[Series]:
        return list(await self._call("cannot read", _series))

    async def ensure_series(self, spec: SeriesSpec, since: int) -> Series:
        async def work(conn: Any) -> Series:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
                found = _match(await _series(conn), spec)
                if found is None:
                    await conn.execute(
                        sql.numbered(sql.INSERT_SERIES),
                        spec.grain,
                        ",".join(spec.dimensions),
                        since,
                    )
                else:
                    await conn.execute(sql.numbered(sql.LOWER_SINCE), since, found.id, since)
            result = _match(await _series(conn), spec)
            assert result is not None
            return result

        result: Series = await self._call("cannot write", work)
        return result

    async def coverage(self, series_id: int) -> list[Cover]:
        async def work(conn: Any) -> list[Cover]:
            rows = await conn.fetch(sql.numbered(sql.SELECT_COVERAGE), series_id)
            return [Cover(r[0], r[1], bool(r[2])) for r in rows]

        return list(await self._call("cannot read", work))

    async def replace_window(
        self,
        series_id: int,
        start: int,
        end: int,
        rows: Sequence[BucketRow],
        covers: Sequence[Cover],
    ) -> None:
        async def work(conn: Any) -> None:
            async with conn.transaction():
                await conn.execute(sql.numbered(sql.DELETE_WINDOW), series_id, start, end)
                if rows:
                    await conn.executemany(
                        sql.numbered(sql.INSERT_BUCKET), [(series_id, *row) for row in rows]
                    )
                if covers:
                    await conn.executemany(
                        sql.numbered(sql.UPSERT_COVER),
                        [(series_id, c.bucket_start, c.fetched_at, int(c.settled)) for c in covers],
                    )

        await self._call("cannot write", work)

    async def aggregate(
        self, series_id: int, start: int, end: int, step: int | None, columns: tuple[str, ...]
    ) -> list[tuple[Any, ...]]:
        text = sql.numbered(sql.aggregate(step, columns))

        async def work(conn: Any) -> list[tuple[Any, ...]]:
            records = await conn.fetch(text, series_id, start, end)
            # SUM(bigint) is numeric in PostgreSQL: back to int, as SQLite answers.
            return [(*r[:-2], int(r[-2] or 0), int(r[-1] or 0)) for r in records]

        return list(await self._call("cannot read", work))

    async def rows(self, series_id: int) -> list[BucketRow]:
        async def work(conn: Any) -> list[Any]:
            return [tuple(r) for r in await conn.fetch(sql.numbered(sql.SELECT_ROWS), series_id)]

        return list(await self._call("cannot read", work))

    async def size_bytes(self) -> int:
        async def work(conn: Any) -> int:
            total = 0
            for table in ("ledger_meta", "ledger_series", "ledger_buckets", "ledger_coverage"):
                total += await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", table)
            return total

        return int(await self._call("cannot read", work))


async def _version(conn: Any) -> int:
    if await conn.fetchval("SELECT to_regclass('ledger_meta')") is None:
        return 0
    value = await conn.fetchval(sql.numbered(sql.SELECT_VERSION), VERSION_KEY)
    return int(value) if value is not None else 0


async def _series(conn: Any) -> list[Series]:
    rows = await conn.fetch(sql.SELECT_SERIES)
    return [
        Series(r[0], SeriesSpec(r[1], tuple(filter(None, r[2].split(","))) or ()), r[3])
        for r in rows
    ]


def _match(series: list[Series], spec: SeriesSpec) -> Series | None:
    return next((s for s in series if s.spec == spec), None)


def _secrets(url: str) -> list[str]:
    from urllib.parse import unquote, urlsplit

    found = []
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if password:
        found += [password, unquote(password)]
    if os.environ.get(_ENV_PASSWORD):
        found.append(os.environ[_ENV_PASSWORD])
    return [s for s in found if s]
