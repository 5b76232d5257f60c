"""Sync against the sandbox over real HTTP, into each store: sums, late data, settling, gaps."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.ledger.conftest import SINCE, client, sandbox_config
from tests.ledger.expected import bucket_sums, ledger_sums
from tests.usage_data import NOW
from turnmeter.ledger import Ledger
from turnmeter.ledger.model import SeriesSpec, at, epoch
from turnmeter.ledger.sync import SyncProgress
from turnmeter.sandbox import Sandbox, UsageRow

DIMENSION_SETS = [
    (),
    ("key_id",),
    ("key_id", "custom_identifier"),
    ("username", "custom_identifier", "datacenter_country"),
]


@pytest.mark.parametrize("grain", ["minute", "hour", "day"])
async def test_ledger_sums_equal_the_raw_rows(store_url: str, grain: str) -> None:
    async with Sandbox(sandbox_config()) as sandbox, client(sandbox.url, sandbox) as turn:
        for dimensions in DIMENSION_SETS:
            async with Ledger(
                store_url, grain=grain, dimensions=dimensions, clock=lambda: NOW
            ) as ledger:
                result = await ledger.sync(turn, since=SINCE)
                assert result.windows >= 3  # 6 h windows (or one per day) over three days
                stored = ledger_sums(await ledger.rows())
            step = ledger.spec.seconds
            start = at(-(-epoch(SINCE) // step) * step)  # the first whole bucket after SINCE
            expected = bucket_sums(sandbox.rows(), grain, ledger.spec.dimensions, start, NOW)
            assert stored == expected, (grain, dimensions)


async def test_a_second_run_refetches_only_the_unsettled_tail(store_url: str) -> None:
    # A rate limit the test never reaches turns the sandbox's budget into a request counter.
    config = sandbox_config(rate_limit=10**9, rate_window=1e12)
    async with Sandbox(config) as sandbox, client(sandbox.url, sandbox) as turn:
        sent = lambda: 10**9 - sandbox.state.engine.budget.remaining()  # noqa: E731
        clock = [NOW]
        async with Ledger(store_url, clock=lambda: clock[0]) as ledger:
            first = await ledger.sync(turn, since=SINCE)
            assert sent() == first.queries
            # 00:00, 01:00 and the 02:00 bucket being filled are younger than 2 h after their end.
            assert [(s.since.hour, s.until.hour) for s in first.unsettled] == [(0, 3)]

            # Late rows: one in an unsettled bucket (must be picked up), one in a settled
            # bucket (must not: settled buckets are never asked for again).
            late = _row(NOW - timedelta(minutes=50), 777_777)
            old = _row(NOW - timedelta(hours=20), 999_999)
            sandbox.add_rows([late, old])
            clock[0] = NOW + timedelta(hours=1)
            sandbox.set_now(clock[0])
            before = sent()
            second = await ledger.sync(turn)
            assert sent() - before == second.queries == 1  # limits are cached: one window
            assert second.windows == 1
            stored = ledger_sums(await ledger.rows())

    key = (epoch(late.minute) // 3600 * 3600, late.key_id, "", late.custom_identifier)
    key = key + ("",) * 4
    assert stored[key] == (777_777, 1)
    old_key = (epoch(old.minute) // 3600 * 3600, old.key_id, "", old.custom_identifier)
    assert old_key + ("",) * 4 not in stored
    # Now 03:07: 00:00 has settled, 01:00 .. 03:00 are the new tail.
    assert [(s.since.hour, s.until.hour) for s in second.unsettled] == [(1, 4)]


async def test_rerun_with_nothing_new_spends_one_window(store_url: str) -> None:
    async with (
        Sandbox(sandbox_config()) as sandbox,
        client(sandbox.url, sandbox) as turn,
        Ledger(store_url, clock=lambda: NOW) as ledger,
    ):
        await ledger.sync(turn, since=SINCE)
        rows = await ledger.rows()
        again = await ledger.sync(turn)
        assert again.windows == 1
        assert again.buckets == 3  # the unsettled tail only
        assert await ledger.rows() == rows


async def test_sync_fills_gaps_that_status_reports(store_url: str) -> None:
    async with Sandbox(sandbox_config()) as sandbox, client(sandbox.url, sandbox) as turn:
        async with Ledger(store_url, clock=lambda: NOW) as ledger:
            await ledger.sync(turn, since=NOW - timedelta(days=1))
            # The series' start moved back a day without a sync (another process, a restore):
            # the day in between is a gap until the next sync fills it.
            hour = NOW.replace(minute=0)
            await ledger.store.ensure_series(SeriesSpec(), epoch(hour - timedelta(days=2)))
            (report,) = await ledger.status()
            assert [(g.since, g.until) for g in report.gaps] == [
                (hour - timedelta(days=2), hour - timedelta(days=1) + timedelta(hours=1))
            ]
            filled = await ledger.sync(turn)
            (after,) = await ledger.status()
            assert after.gaps == ()
            assert filled.buckets >= 24
            stored = ledger_sums(await ledger.rows())
        expected = bucket_sums(
            sandbox.rows(), "hour", SeriesSpec().dimensions, hour - timedelta(days=2), NOW
        )
    assert stored == expected


def _row(minute: object, egress: int) -> UsageRow:
    return UsageRow(
        minute=minute,  # type: ignore[arg-type]
        key_id="late-key",
        username="late-user",
        custom_identifier="late-customer",
        datacenter_city="Paris",
        datacenter_code="CDG",
        datacenter_country="FR",
        datacenter_region="WEUR",
        egress_bytes=egress,
        ingress_bytes=1,
        concurrent_connections=1,
    )


async def test_follow_keeps_syncing_on_a_schedule(store_url: str) -> None:
    async with (
        Sandbox(sandbox_config()) as sandbox,
        client(sandbox.url, sandbox) as turn,
    ):
        clock = [NOW]
        ledger = Ledger(store_url, clock=lambda: clock[0])
        async with ledger:
            runs = []
            follow = ledger.follow(turn, interval=0.01, since=SINCE)
            async for result in follow:
                runs.append(result)
                if len(runs) == 3:
                    break
                clock[0] += timedelta(hours=1)  # the next run sees one more hour
                sandbox.set_now(clock[0])
            await follow.aclose()
        assert runs[0].windows >= 12
        assert [r.windows for r in runs[1:]] == [1, 1]
        assert [r.unsettled[-1].until for r in runs] == [
            NOW.replace(minute=0) + timedelta(hours=h) for h in (1, 2, 3)
        ]


async def test_progress_reports_windows_and_queries_as_they_go(store_url: str) -> None:
    seen: list[SyncProgress] = []
    async with (
        Sandbox(sandbox_config()) as sandbox,
        client(sandbox.url, sandbox) as turn,
        Ledger(store_url, clock=lambda: NOW) as ledger,
    ):
        result = await ledger.sync(turn, since=SINCE, on_progress=seen.append)
    assert seen[0] == SyncProgress(0, result.windows, 1, 0)
    assert seen[-1] == SyncProgress(result.windows, result.windows, result.queries, result.rows)
    queries = [p.queries for p in seen]
    assert queries == sorted(queries)
    assert len(set(queries)) == result.queries  # every request shows as it goes out
