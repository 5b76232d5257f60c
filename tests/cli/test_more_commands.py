"""top-users, series, query, export, budget, help texts and Ctrl-C, against a sandbox."""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.cli.conftest import ThreadedSandbox
from tests.conftest import CANARY_TOKEN
from tests.usage_data import NOW, START, usage_rows
from turnmeter.cli import build_parser, main
from turnmeter.cli.exit_codes import ExitCode
from turnmeter.sandbox import Fault

CLOCK = ["--now", NOW.isoformat()]
RANGE = ["--since", START.isoformat(), "--until", NOW.isoformat(), *CLOCK]
ROWS = [r for r in usage_rows() if START <= r.minute < NOW]
EXAMPLE = re.compile(r"Examples?: turnmeter ")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_top_users(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "top-users", "--sandbox", *RANGE, "--limit", "3", "--format=json")
    assert code == 0
    totals: Counter[str] = Counter()
    for row in ROWS:
        totals[row.username] += row.egress_bytes
    assert [(r["username"], r["egress_bytes"]) for r in json.loads(out)] == totals.most_common(3)


def hours_of_range() -> list[datetime]:
    """Every hour bucket the range touches (the first and the last are partial)."""
    first = START.replace(minute=0, second=0, microsecond=0)
    return [first + timedelta(hours=h) for h in range(int((NOW - first) / timedelta(hours=1)) + 1)]


def test_series_by_hour_has_every_hour(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "series", "--sandbox", *RANGE, "--every", "hour", "--format=json")
    assert code == 0
    per_hour: Counter[datetime] = Counter()
    for row in ROWS:
        per_hour[row.minute.replace(minute=0)] += row.egress_bytes
    hours = hours_of_range()
    assert set(per_hour) < set(hours)  # some hours have no traffic
    got = json.loads(out)
    assert [r["bucket"] for r in got] == [h.isoformat().replace("+00:00", "Z") for h in hours]
    assert [r["egress_bytes"] for r in got] == [per_hour[h] for h in hours]
    assert [r["partial"] for r in got] == [h in (hours[0], hours[-1]) for h in hours]
    assert "connections_open" in got[0]


def test_series_csv_has_a_zero_row_for_an_empty_hour(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["series", "--sandbox", *RANGE, "--every", "hour", "--format", "csv"]
    code, out, _ = run(capsys, *argv)
    assert code == 0
    with_traffic = {row.minute.replace(minute=0) for row in ROWS}
    empty = [h for h in hours_of_range() if h not in with_traffic]
    assert empty
    rows = {r["bucket"]: r for r in csv.DictReader(io.StringIO(out))}
    for hour in empty:
        row = rows[hour.isoformat().replace("+00:00", "Z")]
        assert (row["egress_bytes"], row["ingress_bytes"], row["connections_open"]) == ("0",) * 3
    # --skip-empty leaves them out
    code, out, _ = run(capsys, *argv, "--skip-empty")
    assert code == 0
    kept = [r["bucket"] for r in csv.DictReader(io.StringIO(out))]
    assert kept == [h.isoformat().replace("+00:00", "Z") for h in sorted(with_traffic)]


def test_series_by_day_has_no_average(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "series", "--sandbox", *RANGE, "--every", "day", "--format=csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["bucket", "egress_bytes", "ingress_bytes", "partial"]
    assert sum(int(r["egress_bytes"]) for r in rows) == sum(r.egress_bytes for r in ROWS)


def test_series_chart_has_one_point_per_bucket_with_traffic(
    cli_env: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    chart = tmp_path / "series.svg"
    argv = ["series", "--sandbox", *RANGE, "--every", "hour", "--format=json"]
    code, out, _ = run(capsys, *argv, "--chart", str(chart))
    assert code == 0
    svg = chart.read_text()
    points = svg[svg.index('<g id="points"') :]
    points = points[: points.index("</g>")]
    assert points.count("<use ") == len([r for r in json.loads(out) if r["egress_bytes"]])


def test_query_with_filter_expressions(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "query",
        "--sandbox",
        *RANGE,
        "--dimensions",
        "datacenter_country",
        "--metrics",
        "egress_bytes",
        "--filter",
        "username like user-1%",
        "--filter",
        "datacenter_country notin JP",
        "--order-by=-egress_bytes",
        "--format=json",
    )
    assert code == 0
    expected: Counter[str] = Counter()
    for row in ROWS:
        if row.username.startswith("user-1") and row.datacenter_country != "JP":
            expected[row.datacenter_country] += row.egress_bytes
    got = [(r["datacenter_country"], r["egress_bytes"]) for r in json.loads(out)]
    assert got == expected.most_common()


@pytest.mark.parametrize(
    "expression", ["username ~ x", "colour = red", "hour like 1", "date = yesterday"]
)
def test_query_rejects_bad_filter_expressions(
    cli_env: str, capsys: pytest.CaptureFixture[str], expression: str
) -> None:
    code, _, err = run(capsys, "query", "--sandbox", *RANGE, "--filter", expression)
    assert code in (ExitCode.USAGE, ExitCode.QUERY)
    assert len(err.strip().splitlines()) == 1


def test_query_rejects_unknown_dimension(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "query", "--sandbox", *RANGE, "--dimensions", "planet")
    assert code == ExitCode.QUERY
    assert "unknown dimension 'planet'" in err


def test_export_csv_per_customer_with_cost(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "export", "--sandbox", *RANGE, "--price-per-gb", "0.08")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    totals: Counter[str] = Counter()
    for row in ROWS:
        totals[row.custom_identifier] += row.egress_bytes
    assert {r["custom_identifier"]: int(r["egress_bytes"]) for r in rows} == dict(totals)
    first = rows[0]
    assert float(first["cost_usd"]) == pytest.approx(
        int(first["egress_bytes"]) / 1e9 * 0.08, abs=1e-4
    )
    assert first["period_start"] == "2024-08-07T02:07:00Z"


def test_export_defaults_to_last_month_with_a_header(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "export", "--sandbox", *CLOCK)
    assert code == 0
    assert out.splitlines()[0].startswith("period_start,period_end,custom_identifier")
    assert "2024-07-01T00:00:00Z,2024-08-01T00:00:00Z" in out or len(out.splitlines()) == 1


def test_export_parquet(cli_env: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    target = tmp_path / "usage.parquet"
    code, _, _ = run(
        capsys, "export", "--sandbox", *RANGE, "--format", "parquet", "-o", str(target)
    )
    assert code == 0
    table = pq.read_table(target)
    assert table.num_rows == len({r.custom_identifier for r in ROWS})
    assert "cost_usd" in table.column_names


def test_budget_under_and_over(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    month = [r for r in usage_rows() if r.minute >= NOW.replace(day=1, hour=0, minute=0)]
    egress = sum(r.egress_bytes for r in month)
    argv = ["budget", "--sandbox", *CLOCK, "--free-tier-gb", "0", "--format=json"]
    code, out, _ = run(capsys, *argv, "--budget", "1000")
    assert code == 0
    (row,) = json.loads(out)
    assert row["egress_bytes"] == egress
    assert row["cost_usd"] == pytest.approx(egress / 1e9 * 0.05, abs=1e-4)
    assert row["over_budget"] is False
    code, out, _ = run(capsys, *argv, "--budget", "0.001")
    assert code == ExitCode.FAILURE
    assert json.loads(out)[0]["over_budget"] is True


def test_budget_reports_free_tier_left(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "budget", "--sandbox", *CLOCK, "--customer", "tango", "--format=json"
    )
    assert code == 0
    (row,) = json.loads(out)
    tango = sum(
        r.egress_bytes
        for r in usage_rows()
        if r.custom_identifier == "tango" and r.minute >= NOW.replace(day=1, hour=0, minute=0)
    )
    assert row["egress_bytes"] == tango
    assert row["free_tier_left_bytes"] == 1000 * 10**9 - tango
    assert row["cost_usd"] == 0


def _parsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(parser.prog, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found.extend(_parsers(sub))
    return found


def test_every_command_has_help_with_an_example() -> None:
    parsers = _parsers(build_parser())
    assert len(parsers) > 15
    missing = [prog for prog, parser in parsers if not EXAMPLE.search(parser.format_help())]
    assert missing == []


def test_ctrl_c_stops_cleanly(threaded_sandbox: ThreadedSandbox) -> None:
    assert threaded_sandbox.sandbox is not None
    threaded_sandbox.sandbox.faults.push(Fault.delay(3))  # long enough to interrupt
    env = os.environ | {
        "TURNMETER_SANDBOX_TOKEN": CANARY_TOKEN,
        "TURNMETER_SANDBOX_URL": threaded_sandbox.url,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "turnmeter", "total", "--sandbox", *RANGE],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 10
    while threaded_sandbox.sandbox.faults.pending() and time.monotonic() < deadline:
        time.sleep(0.05)  # wait until the request holding the delay has arrived
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == ExitCode.INTERRUPTED
    assert err.strip() == "turnmeter: interrupted"
    assert "Traceback" not in err
    assert CANARY_TOKEN not in out + err


def test_relative_now_option(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["total", "--sandbox", "--since", "1d", *CLOCK, "--format=json"]
    code, out, _ = run(capsys, *argv)
    assert code == 0
    day = [r for r in ROWS if r.minute >= NOW - timedelta(days=1)]
    assert json.loads(out)[0]["egress_bytes"] == sum(r.egress_bytes for r in day)


def test_export_per_customer_queries_agree_with_the_grouped_export(
    cli_env: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="turnmeter.transport")

    def requests_sent() -> int:
        sent = [r for r in caplog.records if hasattr(r, "turnmeter_attempt")]
        caplog.clear()
        return len(sent)

    code, grouped, _ = run(capsys, "export", "--sandbox", *RANGE, "--format=json")
    assert code == 0
    grouped_requests = requests_sent()
    code, one_by_one, err = run(
        capsys, "export", "--sandbox", *RANGE, "--format=json", "--per-customer"
    )
    assert code == 0, err
    customers = {r.custom_identifier for r in ROWS}
    assert requests_sent() == grouped_requests + len(customers)
    # The sandbox does not sample, so both ways give the same numbers, row for row.
    assert json.loads(one_by_one) == json.loads(grouped)
    assert len(json.loads(grouped)) == len(customers)
