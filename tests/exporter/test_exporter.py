"""The exporter in-process against the sandbox: requests per poll, failures, the cap moving,
labels, months, the state file's guards, content negotiation, and no token anywhere."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import CANARY_TOKEN
from tests.exporter.expect import expected_counters, gauge, scraped_counters
from tests.exporter.stack import MONTH_START, NOW, exporter_stack
from turnmeter import RateBudget, RateMode, TurnUsage
from turnmeter.errors import ConfigError
from turnmeter.exporter import ExporterSettings
from turnmeter.exporter.app import Exporter
from turnmeter.exporter.state import StateConflict, StateStore
from turnmeter.sandbox import Fault, NodeLimits, Sandbox, SandboxConfig
from turnmeter.sandbox.model import UsageRow

#: A sandbox budget that never runs out and never refills: what it spent is what was sent.
COUNTING = {"rate_limit": 1_000_000, "rate_window": 1e12}
SETTLED = NOW.replace(second=0) - timedelta(minutes=5)


def _slow(tmp: Path | None = None, **changes: object) -> ExporterSettings:
    # Polls only when a test asks (poll_interval a day): each step is explicit.
    return ExporterSettings(
        state_path=None if tmp is None else tmp / "state.sqlite",
        poll_interval=86400.0,
        **changes,  # type: ignore[arg-type]
    )


async def _scrape(port: int, accept: str | None = None) -> tuple[str, str]:
    headers = {"Accept": accept} if accept else {}
    url = f"http://127.0.0.1:{port}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        assert response.status == 200
        return response.headers["Content-Type"], await response.text()


async def _health(port: int) -> tuple[int, dict[str, object]]:
    url = f"http://127.0.0.1:{port}/healthz"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, json.loads(await response.text())


async def test_one_request_per_steady_poll_and_scrapes_send_none() -> None:
    config = SandboxConfig(now=NOW, **COUNTING)  # type: ignore[arg-type]
    async with exporter_stack(_slow(), config) as stack:
        budget = stack.sandbox.state.engine.budget
        poller = stack.exporter.poller
        # start_polling ran the first poll (the backfill): wait for it.
        for _ in range(200):
            if poller.stats.polls_ok:
                break
            await _sleep()
        spent = []
        for minute in range(1, 6):
            before = budget.remaining()
            stack.sandbox.set_now(NOW + timedelta(minutes=minute))
            assert await poller.poll()
            spent.append(before - budget.remaining())
        assert spent == [1, 1, 1, 1, 1]
        before, sent = budget.remaining(), poller.fetcher.stats.sent
        for _ in range(20):
            _, text = await _scrape(stack.port)
        assert budget.remaining() == before  # a scrape never queries Cloudflare
        assert gauge(text, "turnmeter_exporter_queries_total") == sent
        rows = stack.sandbox.rows()
        settled = SETTLED + timedelta(minutes=5)
        expected = expected_counters(rows, MONTH_START, settled, top=100)
        assert scraped_counters(text) == expected


async def _sleep() -> None:
    await asyncio.sleep(0.05)


async def test_failed_polls_keep_every_value_and_degrade_healthz() -> None:
    async with exporter_stack(_slow(degraded_after=2)) as stack:
        poller = stack.exporter.poller
        while not poller.stats.polls_ok:
            await _sleep()
        _, before = await _scrape(stack.port)
        assert (await _health(stack.port))[0] == 200
        stack.sandbox.set_now(NOW + timedelta(minutes=3))
        # Every attempt of two polls fails (the transport retries 5xx itself).
        stack.sandbox.faults.push(*[Fault.status(500)] * 40)
        assert not await poller.poll()
        status, health = await _health(stack.port)
        assert status == 200
        assert health["consecutive_failures"] == 1
        assert not await poller.poll()
        status, health = await _health(stack.port)
        assert status == 503
        assert health["status"] == "degraded"
        _, during = await _scrape(stack.port)
        assert scraped_counters(during) == scraped_counters(before)  # nothing dropped to zero
        assert gauge(during, "turnmeter_turn_month_egress_bytes") == gauge(
            before, "turnmeter_turn_month_egress_bytes"
        )
        age_before = gauge(before, "turnmeter_turn_data_age_seconds")
        assert age_before is not None
        assert gauge(during, "turnmeter_turn_data_age_seconds") == age_before + 180
        errors = {
            s.labels["family"]: s.value
            for f in text_string_to_metric_families(during)
            for s in f.samples
            if s.name == "turnmeter_exporter_errors_total"
        }
        assert sum(errors.values()) == 2
        assert errors["server"] + errors["http_status"] == 2
        stack.sandbox.faults.clear()
        assert await poller.poll()
        assert (await _health(stack.port))[0] == 200
        _, after = await _scrape(stack.port)
        settled = SETTLED + timedelta(minutes=3)
        rows = stack.sandbox.rows()
        assert scraped_counters(after) == expected_counters(rows, MONTH_START, settled, top=100)


async def test_openmetrics_when_asked_text_format_otherwise() -> None:
    async with exporter_stack(_slow()) as stack:
        while not stack.exporter.poller.stats.polls_ok:
            await _sleep()
        kind, text = await _scrape(stack.port, "application/openmetrics-text; version=1.0.0")
        assert kind.startswith("application/openmetrics-text")
        assert text.rstrip().endswith("# EOF")
        assert text.count("# EOF") == 1
        # The cached snapshot and the live part make one valid OpenMetrics exposition.
        families = {f.name: f for f in openmetrics_families(text)}
        assert families["turnmeter_turn_egress_bytes"].type == "counter"
        assert families["turnmeter_turn_data_age_seconds"].type == "gauge"
        om_egress = {
            (s.labels["key_id"], s.labels["custom_identifier"]): int(s.value)
            for s in families["turnmeter_turn_egress_bytes"].samples
            if s.name == "turnmeter_turn_egress_bytes_total"
        }
        kind, plain = await _scrape(stack.port)
        assert kind.startswith("text/plain")
        assert "# EOF" not in plain
        assert {key: pair[0] for key, pair in scraped_counters(plain).items()} == om_egress
        assert om_egress


def _row(minute: datetime, customer: str, egress: int, key: str = "k1") -> UsageRow:
    return UsageRow(minute, key, "u", customer, "Paris", "CDG", "FR", "WEUR", egress, 1, 2)


async def test_a_customer_entering_the_top_n_never_makes_a_counter_go_down() -> None:
    start = MONTH_START + timedelta(days=2)
    rows = [_row(start, "big", 1000), _row(start, "mid", 500), _row(start, "small", 10)]
    config = SandboxConfig(now=start + timedelta(minutes=10), rows=rows, rate_limit=None)
    async with exporter_stack(_slow(top_customers=2), config) as stack:
        poller = stack.exporter.poller
        while not poller.stats.polls_ok:
            await _sleep()
        _, first = await _scrape(stack.port)
        assert scraped_counters(first) == {
            ("k1", "big"): (1000, 1),
            ("k1", "mid"): (500, 1),
            ("k1", "__other__"): (10, 1),
        }
        # "small" overtakes "mid": from now on it has its own series.
        minute = start + timedelta(minutes=6)
        stack.sandbox.add_rows([_row(minute, "small", 900), _row(minute, "mid", 1)])
        stack.sandbox.set_now(minute + timedelta(minutes=6))
        assert await poller.poll()
        _, second = await _scrape(stack.port)
        counters = scraped_counters(second)
        assert counters == {
            ("k1", "big"): (1000, 1),
            ("k1", "small"): (900, 1),  # its usage since it entered
            ("k1", "__other__"): (10 + 1, 2),  # what it used before, and mid's new minute
        }
        stored = poller.ledger.counters
        assert stored[("k1", "mid")] == [500, 1]  # kept (not exposed) for a comeback
        assert sum(e for e, _ in stored.values()) == 1000 + 500 + 10 + 900 + 1
        assert gauge(second, "turnmeter_exporter_series") == 3


async def test_labels_can_be_reduced_to_the_key() -> None:
    async with exporter_stack(_slow(labels=("key_id",))) as stack:
        while not stack.exporter.poller.stats.polls_ok:
            await _sleep()
        _, text = await _scrape(stack.port)
        samples = [
            s
            for f in text_string_to_metric_families(text)
            for s in f.samples
            if s.name == "turnmeter_turn_egress_bytes_total"
        ]
        by_key: dict[str, int] = {}
        for row in stack.sandbox.rows():
            if MONTH_START <= row.minute < SETTLED:
                by_key[row.key_id] = by_key.get(row.key_id, 0) + row.egress_bytes
        assert {s.labels["key_id"]: int(s.value) for s in samples} == by_key
        assert all(set(s.labels) == {"key_id"} for s in samples)


async def test_a_new_month_resets_month_to_date_but_not_the_counters() -> None:
    end = datetime(2024, 9, 1, tzinfo=UTC)
    rows = [_row(end - timedelta(minutes=3), "a", 700), _row(end + timedelta(minutes=2), "a", 40)]
    config = SandboxConfig(now=end - timedelta(minutes=1), rows=rows, rate_limit=None)
    async with exporter_stack(_slow(settle_delay=0), config) as stack:
        poller = stack.exporter.poller
        while not poller.stats.polls_ok:
            await _sleep()
        _, august = await _scrape(stack.port)
        assert gauge(august, "turnmeter_turn_month_egress_bytes") == 700
        stack.sandbox.set_now(end + timedelta(minutes=5))
        assert await poller.poll()
        _, september = await _scrape(stack.port)
        assert gauge(september, "turnmeter_turn_month_egress_bytes") == 40
        assert scraped_counters(september) == {("k1", "a"): (740, 2)}


async def test_a_restart_with_the_watermark_on_the_first_keeps_months_apart(
    tmp_path: Path,
) -> None:
    end = datetime(2024, 9, 1, tzinfo=UTC)
    rows = [_row(end - timedelta(minutes=3), "a", 700), _row(end + timedelta(minutes=2), "a", 40)]
    config = SandboxConfig(now=end, rows=rows, rate_limit=None)
    before = SandboxConfig(now=end - timedelta(seconds=30), rows=rows, rate_limit=None)
    async with exporter_stack(_slow(tmp_path, settle_delay=0), before) as stack:
        while not stack.exporter.poller.stats.polls_ok:
            await _sleep()
        stack.sandbox.set_now(end)
        assert await stack.exporter.poller.poll()
        assert stack.exporter.poller.ledger.watermark == end  # August done, to the minute
    async with exporter_stack(_slow(tmp_path, settle_delay=0), config) as stack:
        poller = stack.exporter.poller
        while not poller.stats.polls_ok:
            await _sleep()
        _, august = await _scrape(stack.port)
        assert gauge(august, "turnmeter_turn_month_egress_bytes") == 700
        # August's month at its whole-month rate: the forecast is what it was.
        assert gauge(august, "turnmeter_turn_month_forecast_egress_bytes") == 700
        stack.sandbox.set_now(end + timedelta(minutes=5))
        assert await poller.poll()
        _, september = await _scrape(stack.port)
        assert gauge(september, "turnmeter_turn_month_egress_bytes") == 40
        assert scraped_counters(september) == {("k1", "a"): (740, 2)}


async def test_the_state_file_refuses_other_labels_and_a_second_writer(tmp_path: Path) -> None:
    async with (
        Sandbox(SandboxConfig(now=NOW, rate_limit=None)) as sandbox,
        TurnUsage(
            account_tag=sandbox.config.account_tag,
            api_token=sandbox.config.token,
            endpoint=sandbox.url,
        ) as turn,
    ):
        clock = sandbox.config.clock
        first = Exporter(turn, _slow(tmp_path), clock=clock)
        second = Exporter(turn, _slow(tmp_path), clock=clock)
        assert await first.poller.poll()
        # The second read the file before the first wrote: its write must not add the
        # same minutes again.
        assert not await second.poller.poll()
        assert second.poller.stats.errors["state"] == 1
        assert "another exporter" in (second.poller.stats.last_error or "")
        await first.close()
        await second.close()
        with pytest.raises(ConfigError, match="labels"):
            Exporter(turn, _slow(tmp_path, labels=("key_id",)), clock=clock)
        store = StateStore(tmp_path / "state.sqlite")
        assert store.load(("key_id", "custom_identifier")) is not None
        store.close()
    assert issubclass(StateConflict, Exception)


async def test_no_token_in_metrics_health_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    config = SandboxConfig(token=CANARY_TOKEN, now=NOW, rate_limit=None)
    async with exporter_stack(_slow(degraded_after=1), config) as stack:
        poller = stack.exporter.poller
        while not poller.stats.polls_ok:
            await _sleep()
        stack.sandbox.set_now(NOW + timedelta(minutes=2))
        stack.sandbox.faults.push(*[Fault.status(401, body=CANARY_TOKEN)] * 10)
        assert not await poller.poll()
        _, text = await _scrape(stack.port)
        _, health = await _health(stack.port)
        seen = text + json.dumps(health) + caplog.text + repr(stack.exporter.poller.stats)
        assert CANARY_TOKEN not in seen
        assert health["status"] == "degraded"


async def test_rate_limits_are_counted_as_refused_and_the_next_poll_is_held_back() -> None:
    async with exporter_stack(_slow()) as stack:
        poller = stack.exporter.poller
        while not poller.stats.polls_ok:
            await _sleep()
        stack.sandbox.set_now(NOW + timedelta(minutes=2))
        sent = poller.fetcher.stats.sent
        stack.sandbox.faults.push(
            Fault.graphql_error(
                "rate limiter budget depleted, try again after 5 minutes", status=429
            )
        )
        assert not await poller.poll()  # Cloudflare refused: one request sent, refused
        assert poller.fetcher.stats.sent == sent + 1
        assert poller.fetcher.stats.refused_for_rate == 1
        # The shared budget now holds every request back for Cloudflare's 5 minutes: the next
        # poll is refused before anything is sent.
        assert not await poller.poll()
        assert poller.fetcher.stats.sent == sent + 1
        assert poller.fetcher.stats.refused_for_rate == 2
        _, text = await _scrape(stack.port)
        assert gauge(text, "turnmeter_exporter_queries_refused_total") == 2
        errors = {
            s.labels["family"]: s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
            if s.name == "turnmeter_exporter_errors_total"
        }
        assert errors["rate_limited"] == 2


async def test_a_watermark_older_than_cloudflare_keeps_skips_what_cannot_be_asked(
    tmp_path: Path,
) -> None:
    july = datetime(2024, 7, 31, 23, 0, tzinfo=UTC)
    august = datetime(2024, 8, 10, tzinfo=UTC)
    rows = [
        _row(july - timedelta(minutes=30), "a", 5),  # counted by the first run
        _row(july + timedelta(minutes=30), "a", 7),  # older than notOlderThan by the second
        _row(august - timedelta(days=3), "a", 11),  # ditto: August before the oldest data
        _row(august - timedelta(hours=1), "a", 13),
    ]
    limits = NodeLimits(not_older_than=2 * 86400)
    first = SandboxConfig(now=july, rows=rows, rate_limit=None, limits=limits)
    async with exporter_stack(_slow(tmp_path, settle_delay=0), first) as stack:
        while not stack.exporter.poller.stats.polls_ok:
            await _sleep()
    later = SandboxConfig(now=august, rows=rows, rate_limit=None, limits=limits)
    async with exporter_stack(_slow(tmp_path, settle_delay=0), later) as stack:
        poller = stack.exporter.poller
        for _ in range(200):
            if poller.stats.polls_ok or poller.stats.polls_failed:
                break
            await _sleep()
        assert poller.stats.polls_ok == 1, poller.stats.last_error
        assert poller.ledger.watermark == august
        _, text = await _scrape(stack.port)
        assert scraped_counters(text) == {("k1", "a"): (5 + 13, 2)}
        assert gauge(text, "turnmeter_turn_month_egress_bytes") == 13


async def test_a_poll_cancelled_during_its_write_keeps_memory_and_file_together(
    tmp_path: Path,
) -> None:
    async with (
        Sandbox(SandboxConfig(now=NOW, rate_limit=None)) as sandbox,
        TurnUsage(
            account_tag=sandbox.config.account_tag,
            api_token=sandbox.config.token,
            endpoint=sandbox.url,
        ) as turn,
    ):
        exporter = Exporter(turn, _slow(tmp_path), clock=lambda: sandbox.config.clock())
        poller = exporter.poller
        # Another connection holds the file's write lock: the poll's write waits for it.
        blocker = sqlite3.connect(tmp_path / "state.sqlite", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        task = asyncio.create_task(poller.poll())
        while poller.fetcher.stats.sent < 3:  # the settings query and the backfill's two
            await _sleep()
        await asyncio.sleep(0.3)  # the write is waiting on the lock
        task.cancel()
        await asyncio.sleep(0.2)
        blocker.execute("ROLLBACK")
        blocker.close()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert poller.ledger.watermark == SETTLED  # the write went through: memory has it
        sandbox.set_now(NOW + timedelta(minutes=2))
        assert await poller.poll(), poller.stats.last_error  # and no "conflict" after it
        settled = SETTLED + timedelta(minutes=2)
        expected = expected_counters(sandbox.rows(), MONTH_START, settled, top=100)
        assert {k: tuple(v) for k, v in poller.ledger.counters.items()} == expected
        await exporter.close()


async def test_the_exporter_spends_the_rate_budget_it_shares_with_the_client() -> None:
    async with Sandbox(SandboxConfig(now=NOW, rate_limit=None)) as sandbox:
        budget = RateBudget(limit=5, window=300, mode=RateMode.FAIL_FAST)
        async with TurnUsage(
            account_tag=sandbox.config.account_tag,
            api_token=sandbox.config.token,
            endpoint=sandbox.url,
            rate_budget=budget,
        ) as turn:
            exporter = Exporter(turn, _slow(), clock=lambda: sandbox.config.clock())
            poller = exporter.poller
            assert await poller.poll()  # settings, the backfill's sums and its last minute
            assert turn.transport.limiter is not None
            assert turn.transport.limiter.used() == 3
            # The rest of the service spends the remainder of the same budget ...
            await turn.total(NOW - timedelta(hours=1), NOW)
            await turn.total(NOW - timedelta(hours=2), NOW)
            sandbox.set_now(NOW + timedelta(minutes=1))
            sent = poller.fetcher.stats.sent
            # ... so the exporter's next poll is refused before anything is sent.
            assert not await poller.poll()
            assert poller.fetcher.stats.sent == sent
            assert poller.fetcher.stats.refused_for_rate == 1
            assert poller.stats.errors["rate_limited"] == 1
            assert poller.ledger.watermark == SETTLED
            await exporter.close()
