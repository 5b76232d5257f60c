"""``turnmeter demo``: the four seed queries answered over HTTP, printed as four tables."""

from __future__ import annotations

import io
from collections import Counter
from datetime import timedelta

import pytest
from rich.console import Console

from tests.usage_data import NOW, usage_rows
from turnmeter import TurnUsage
from turnmeter.cli import main
from turnmeter.cli.demo import DEMO_DAYS, SERIES_MINUTES, fetch_demo, print_demo
from turnmeter.cli.render import format_bytes

TITLES = (
    "1. Top TURN keys by egress",
    "2. Top custom identifiers by egress",
    "3. Usage for custom identifier",
    f"4. Egress per minute, last {SERIES_MINUTES} minutes",
)


def test_demo_prints_four_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    for title in TITLES:
        assert title in out
    assert "UTC" in out
    assert " GB" in out


async def test_demo_answers_match_the_rows(turn: TurnUsage) -> None:
    # "Now" just after the last row, so that the 30-minute series has rows to show.
    now = max(r.minute for r in usage_rows()) + timedelta(minutes=1)
    assert now <= NOW
    results = await fetch_demo(turn, now)
    rows = [r for r in usage_rows() if now - timedelta(days=DEMO_DAYS) <= r.minute < now]
    per_key: Counter[str] = Counter()
    per_customer: Counter[str] = Counter()
    for row in rows:
        per_key[row.key_id] += row.egress_bytes
        per_customer[row.custom_identifier] += row.egress_bytes
    assert [(k.key_id, k.egress_bytes) for k in results.top_keys] == per_key.most_common(5)
    assert results.customer == per_customer.most_common(1)[0][0]
    assert sum(u.egress_bytes for u in results.customer_usage) == per_customer[results.customer]
    assert results.totals.egress_bytes == sum(r.egress_bytes for r in rows)
    recent = [r for r in rows if r.minute >= now - timedelta(minutes=SERIES_MINUTES)]
    assert recent
    assert sum(p.egress_bytes for p in results.series) == sum(r.egress_bytes for r in recent)

    buffer = io.StringIO()
    print_demo(results, Console(file=buffer, width=120))
    printed = buffer.getvalue()
    for title in TITLES:
        assert title in printed
    assert format_bytes(results.top_keys[0].egress_bytes) in printed
