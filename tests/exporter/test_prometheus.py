"""The exporter scraped by a real Prometheus: counters equal brute-force sums of the raw rows,
every dashboard panel evaluates and returns data, the shipped alert rules evaluate and fire."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.exporter.expect import expected_counters
from tests.exporter.prometheus import DASHBOARD, Prometheus, StartPrometheus
from tests.exporter.stack import MONTH_START, NOW, exporter_stack
from turnmeter.exporter import ExporterSettings
from turnmeter.pricing import Pricing

TOP = 5
SETTLED = NOW.replace(second=0) - timedelta(minutes=5)  # floor(NOW - 5 min)


def _settings(tmp: Path) -> ExporterSettings:
    # A free tier of 100 GB and a $2 budget: the month's synthetic traffic passes both, so the
    # free-tier and budget alerts must fire.
    return ExporterSettings(
        state_path=tmp / "exporter.sqlite",
        top_customers=TOP,
        poll_interval=0.5,
        budget_usd=Decimal(2),
        pricing=Pricing.of(free_tier_gb=100),
    )


def _by_labels(result: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    return {
        (item["metric"]["key_id"], item["metric"]["custom_identifier"]): int(
            float(item["value"][1])
        )
        for item in result
    }


async def _counters_at(
    prom: Prometheus, watermark: float, expected: dict[tuple[str, str], tuple[int, int]]
) -> tuple[dict[Any, int], ...]:
    """The counters once Prometheus has scraped the exporter at ``watermark``.

    Each query waits for a scrape that matches (a scrape missed under load leaves a gap, not a
    wrong number); a wrong number fails with the last result seen.
    """
    await prom.wait_for(
        "turnmeter_turn_watermark_timestamp_seconds",
        lambda r: bool(r) and float(r[0]["value"][1]) == watermark,
    )
    result = []
    for index, name in enumerate(("egress", "ingress")):
        want = {key: pair[index] for key, pair in expected.items()}
        found = await prom.wait_for(
            f"turnmeter_turn_{name}_bytes_total", lambda r, want=want: _by_labels(r) == want
        )
        result.append(_by_labels(found))
    return tuple(result)


async def test_counters_in_prometheus_equal_raw_sums_per_label_set(
    tmp_path: Path, prometheus_for: StartPrometheus
) -> None:
    async with exporter_stack(_settings(tmp_path)) as stack:
        prom = await prometheus_for(stack.target)
        rows = stack.sandbox.rows()
        expected = expected_counters(rows, MONTH_START, SETTLED, top=TOP)
        assert len({key for key, _ in expected}) == 3  # every key
        assert sum(1 for _, c in expected if c == "__other__") >= 2  # __other__ per key
        egress, ingress = await _counters_at(prom, SETTLED.timestamp(), expected)
        assert egress == {key: pair[0] for key, pair in expected.items()}
        assert ingress == {key: pair[1] for key, pair in expected.items()}
        total = sum(e for e, _ in expected.values())
        await prom.wait_for(
            "turnmeter_turn_month_egress_bytes",
            lambda r: bool(r) and int(float(r[0]["value"][1])) == total,
        )
        customers = {c for _, c in egress} - {"__other__"}
        assert len(customers) == TOP

        await _every_panel_returns_data(prom)
        await _rules_evaluate_and_fire(prom)


async def _every_panel_returns_data(prom: Prometheus) -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(exprs) >= 10
    for expr in exprs:
        # Grafana fills $__rate_interval in; a few seconds hold several half-second scrapes.
        await prom.wait_for(expr.replace("$__rate_interval", "10s"), lambda r: len(r) > 0)


async def _rules_evaluate_and_fire(prom: Prometheus) -> None:
    def all_evaluated(groups: Any) -> bool:
        rules = [rule for group in groups["groups"] for rule in group["rules"]]
        return len(rules) == 8 and all(
            # Evaluated (not the zero time of a rule never run) and without an error.
            rule["health"] == "ok" and rule.get("lastEvaluation", "").startswith("20")
            for rule in rules
        )

    groups = await prom.api("rules")
    for _ in range(100):
        if all_evaluated(groups):
            break
        await asyncio.sleep(0.25)
        groups = await prom.api("rules")
    assert all_evaluated(groups), groups
    firing = await prom.wait_for('ALERTS{alertstate="firing"}', lambda r: len(r) >= 3, within=30)
    names = {item["metric"]["alertname"] for item in firing}
    assert {
        "TurnmeterFreeTier80PercentUsed",
        "TurnmeterFreeTierUsedUp",
        "TurnmeterOverBudget",
    } <= names
    assert "TurnmeterDataStale" not in names
    assert "TurnmeterExporterDown" not in names


async def test_late_rows_inside_the_settle_delay_count_and_settled_ones_do_not(
    tmp_path: Path, prometheus_for: StartPrometheus
) -> None:
    async with exporter_stack(_settings(tmp_path)) as stack:
        prom = await prometheus_for(stack.target)
        sandbox = stack.sandbox
        first = expected_counters(sandbox.rows(), MONTH_START, SETTLED, top=TOP)
        egress, _ = await _counters_at(prom, SETTLED.timestamp(), first)
        top = max((key for key in egress if key[1] != "__other__"), key=egress.__getitem__)
        template = next(r for r in sandbox.rows() if (r.key_id, r.custom_identifier) == top)
        # Inside the settle delay (at or after the watermark): Cloudflare's late data,
        # still in time to be counted.
        in_time = replace(template, minute=SETTLED + timedelta(minutes=2), egress_bytes=1_111_111)
        # Before the watermark: that minute was settled and counted already.
        too_late = replace(template, minute=SETTLED - timedelta(minutes=2), egress_bytes=2_222_223)
        assert sandbox.add_rows([in_time, too_late]) == 2
        sandbox.set_now(NOW + timedelta(minutes=4))
        settled = SETTLED + timedelta(minutes=4)
        counted = [row for row in sandbox.rows() if row != too_late]
        expected = expected_counters(counted, MONTH_START, settled, top=TOP)
        egress, ingress = await _counters_at(prom, settled.timestamp(), expected)
        assert egress == {key: pair[0] for key, pair in expected.items()}
        assert ingress == {key: pair[1] for key, pair in expected.items()}
        with_late = expected_counters(sandbox.rows(), MONTH_START, settled, top=TOP)
        assert with_late[top][0] - egress[top] == too_late.egress_bytes
