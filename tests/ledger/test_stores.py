"""The store interface on both stores: migrations, versions, one transaction per window, URLs,
and the password that never shows."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest

from tests.conftest import CANARY_PG_PASSWORD
from tests.ledger.postgres import PostgresServer
from turnmeter.cli import main
from turnmeter.errors import ConfigError, LedgerError
from turnmeter.ledger import Ledger, open_store
from turnmeter.ledger.migrations import LATEST
from turnmeter.ledger.model import Cover, SeriesSpec

ROW = (3600, "k", "", "c", "", "", "", "", 10, 1, 7)


async def _set_version(url: str, version: int) -> None:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            db.execute(
                "UPDATE ledger_meta SET value = ? WHERE key = 'schema_version'", (str(version),)
            )
        return
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "UPDATE ledger_meta SET value = $1 WHERE key = 'schema_version'", str(version)
        )
    finally:
        await conn.close()


async def test_migrations_take_an_old_store_to_the_latest_version(store_url: str) -> None:
    store = open_store(store_url)
    await store.open(target_version=1)
    try:
        assert await store.version() == 1
        series = await store.ensure_series(SeriesSpec(), 0)
        await store.replace_window(
            series.id, 0, 7200, [ROW], [Cover(0, 7, True), Cover(3600, 7, False)]
        )
    finally:
        await store.close()
    async with Ledger(store_url) as ledger:
        assert await ledger.store.version() == LATEST == 2
        assert await ledger.rows() == [ROW]
        (report,) = await ledger.status()
        assert report.buckets == 2
        assert [(s.start, s.end) for s in report.unsettled] == [(3600, 7200)]


async def test_a_store_from_a_newer_turnmeter_is_refused(store_url: str) -> None:
    async with Ledger(store_url):
        pass
    await _set_version(store_url, LATEST + 1)
    with pytest.raises(LedgerError, match="newer than this turnmeter knows"):
        async with Ledger(store_url):
            pass


async def test_a_failed_window_write_leaves_the_old_window(store_url: str) -> None:
    async with Ledger(store_url) as ledger:
        series = await ledger.store.ensure_series(SeriesSpec(), 0)
        await ledger.store.replace_window(series.id, 0, 7200, [ROW], [Cover(0, 7, True)])
        bad = (0, "k2", "", "c", "", "", "", "", None, 1, 8)  # NOT NULL: the write must fail
        good = (3600, "k3", "", "c", "", "", "", "", 5, 1, 8)
        with pytest.raises(LedgerError):
            await ledger.store.replace_window(
                series.id, 0, 7200, [good, bad], [Cover(3600, 8, True)]
            )  # type: ignore[list-item]
        assert await ledger.rows() == [ROW]
        assert await ledger.store.coverage(series.id) == [Cover(0, 7, True)]


async def test_upserts_are_keyed_by_bucket_and_dimension_values(store_url: str) -> None:
    async with Ledger(store_url) as ledger:
        series = await ledger.store.ensure_series(SeriesSpec(), 0)
        for egress in (10, 20):  # the same window twice: replaced, never added
            row = (*ROW[:8], egress, 1, 7)
            await ledger.store.replace_window(series.id, 0, 7200, [row], [Cover(3600, 7, True)])
        assert [r[8] for r in await ledger.rows()] == [20]


def test_store_urls() -> None:
    assert open_store("sqlite:///usage.db").display == "sqlite:///usage.db"
    assert open_store("sqlite:////tmp/x/usage.db").display == "sqlite:////tmp/x/usage.db"
    assert open_store(Path("plain.db")).display == "sqlite:///plain.db"
    shown = open_store(f"postgresql://billing:{CANARY_PG_PASSWORD}@db:5432/turn?sslmode=require")
    assert shown.display == "postgresql://billing:***@db:5432/turn?***"
    assert CANARY_PG_PASSWORD not in repr(shown) + repr(Ledger(shown))
    for bad in ("", "mysql://x", "sqlite://relative.db", "sqlite:///"):
        with pytest.raises(ConfigError):
            open_store(bad)
    with pytest.raises(ConfigError, match="unknown ledger dimension 'hour'"):
        Ledger("sqlite:///x.db", dimensions="key_id,hour")
    with pytest.raises(ConfigError, match="grain"):
        Ledger("sqlite:///x.db", grain="week")


async def test_passwords_never_show_in_errors(postgres: PostgresServer) -> None:
    # The right password is in PGPASSWORD (the session's server); a wrong one in the URL.
    wrong = postgres.url().replace("postgres@", f"postgres:{CANARY_PG_PASSWORD}-wrong@")
    with pytest.raises(LedgerError) as caught:
        async with Ledger(wrong):
            pass
    text = f"{caught.value} {caught.value!r}"
    assert "password authentication failed" in text
    assert CANARY_PG_PASSWORD not in text
    nobody = f"postgresql://postgres:{CANARY_PG_PASSWORD}@127.0.0.1:1/x"
    with pytest.raises(LedgerError) as refused:
        async with Ledger(nobody):
            pass
    assert CANARY_PG_PASSWORD not in f"{refused.value} {refused.value!r}"


def test_ledger_status_and_the_default_store(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("TURNMETER_CONFIG", raising=False)
    assert main(["ledger", "status", "--format", "json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["store"] == f"sqlite:///{tmp_path / 'turnmeter' / 'usage.db'}"
    assert status["schema_version"] == LATEST
    assert status["series"] == []
    assert (tmp_path / "turnmeter" / "usage.db").is_file()


def test_without_asyncpg_the_message_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "asyncpg", None)  # as if the extra were not installed
    code = main(["ledger", "status", "--store", "postgresql://u@127.0.0.1:1/x"])
    assert code == 2  # a missing extra is refused like --chart without matplotlib
    assert "pip install 'turnmeter[postgres]'" in capsys.readouterr().err


async def test_naive_times_and_bad_settings_are_refused(store_url: str) -> None:
    from datetime import datetime, timedelta

    from turnmeter.query import Query

    with pytest.raises(ConfigError, match="settle"):
        Ledger(store_url, settle=timedelta(hours=-1))
    async with Ledger(store_url) as ledger:
        with pytest.raises(ConfigError, match="timezone-aware"):
            await ledger.query(Query(), datetime(2024, 1, 1), datetime(2024, 2, 1))
        with pytest.raises(ConfigError, match="timezone-aware"):
            await ledger.monthly(datetime(2024, 1, 1), datetime(2024, 2, 1))


async def test_a_big_window_write_leaves_the_event_loop_running(store_url: str) -> None:
    import asyncio

    ticks = 0
    writing = True

    async def ticker() -> None:
        nonlocal ticks
        while writing:
            ticks += 1
            await asyncio.sleep(0)

    rows = [(3600, f"k{i}", "", "c", "", "", "", "", i, 1, 7) for i in range(20_000)]
    async with Ledger(store_url) as ledger:
        series = await ledger.store.ensure_series(SeriesSpec(), 0)
        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        before = ticks
        await ledger.store.replace_window(series.id, 0, 7200, rows, [Cover(3600, 7, True)])
        during = ticks - before
        writing = False
        await task
        assert len(await ledger.rows()) == len(rows)
    assert during > 1  # the loop kept serving other tasks while the store wrote
