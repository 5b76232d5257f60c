"""The usage commands with ``--ledger``: the ledger's answers equal Cloudflare's (the sandbox's)
over a covered range, and keep answering once the range is older than ``notOlderThan``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.cli.conftest import ThreadedSandbox
from tests.conftest import CANARY_PG_PASSWORD, CANARY_TOKEN
from tests.ledger.conftest import SINCE, sandbox_config
from tests.usage_data import NOW
from turnmeter.cli import main
from turnmeter.cli.exit_codes import ExitCode
from turnmeter.sandbox.model import NodeLimits

#: Whole hours inside the rows' three days, settled at NOW.
SPAN = ["--since", "2024-08-07T06:00:00Z", "--until", "2024-08-09T18:00:00Z"]
LATER = NOW + timedelta(days=100)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadedSandbox]:
    monkeypatch.setenv("TURNMETER_SANDBOX_TOKEN", CANARY_TOKEN)
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    monkeypatch.delenv("TURNMETER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent-turnmeter-test")
    with ThreadedSandbox(sandbox_config(limits=NodeLimits())) as server:
        yield server


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def synced(capsys: pytest.CaptureFixture[str], url: str, store: str, dimensions: str = "") -> None:
    extra = ["--dimensions", dimensions] if dimensions else []
    code, out, err = run(
        capsys,
        "sync",
        "--sandbox",
        url,
        "--store",
        store,
        "--now",
        NOW.isoformat(),
        "--since",
        SINCE.isoformat(),
        *extra,
    )
    assert code == 0, err
    assert "synced hour by" in out
    assert CANARY_TOKEN not in out + err
    assert CANARY_PG_PASSWORD not in out + err


COMMANDS = [
    ("total",),
    ("top-keys", "--limit", "2"),
    ("top-customers",),
    ("usage", "--customer", "tango"),
    ("series", "--every", "hour"),
    ("series", "--every", "day"),
    ("export",),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: "-".join(c))
def test_ledger_answers_equal_the_sandbox(
    served: ThreadedSandbox,
    store_url: str,
    capsys: pytest.CaptureFixture[str],
    command: tuple[str, ...],
) -> None:
    synced(capsys, served.url, store_url)
    now = ["--now", NOW.isoformat(), "--format", "json"]
    code, live, err = run(capsys, *command, "--sandbox", served.url, *SPAN, *now)
    assert code == 0, err
    code, ledger, err = run(capsys, *command, "--ledger", store_url, *SPAN, *now)
    assert code == 0, err
    averages = {"connections_open"}  # sums only in the ledger; the answer says so
    expected = [{k: v for k, v in row.items() if k not in averages} for row in json.loads(live)]
    assert json.loads(ledger) == expected
    assert expected  # a real comparison: there are rows
    assert "not settled" not in err  # the span is settled and covered: nothing to say
    if command == ("series", "--every", "hour"):
        assert "average connections are not kept in the ledger" in err


def test_budget_from_the_ledger_equals_the_sandbox(
    served: ThreadedSandbox, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    synced(capsys, served.url, store_url)
    args = ["--now", NOW.isoformat(), "--format", "json", "--budget", "100"]
    code, live, err = run(capsys, "budget", "--sandbox", served.url, *args)
    assert code == 0, err
    code, ledger, err = run(capsys, "budget", "--ledger", store_url, *args)
    assert code == 0, err
    assert json.loads(ledger) == json.loads(live)
    assert "not settled yet" in err  # month to date runs into the unsettled tail


def test_total_older_than_retention_answers_from_the_ledger_only(
    served: ThreadedSandbox, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    synced(capsys, served.url, store_url)
    assert served.sandbox is not None
    expected = sum(
        r.egress_bytes
        for r in served.sandbox.rows()
        if datetime(2024, 8, 7, 6, tzinfo=UTC) <= r.minute < datetime(2024, 8, 9, 18, tzinfo=UTC)
    )
    served.sandbox.set_now(LATER)  # 100 days on: past the sandbox's 92-day notOlderThan
    later = ["--now", LATER.isoformat(), "--format", "json"]
    code, _, err = run(capsys, "total", "--sandbox", served.url, *SPAN, *later)
    assert code == ExitCode.QUERY
    assert "older than" in err
    code, out, err = run(capsys, "total", "--ledger", store_url, *SPAN, *later)
    assert code == 0, err
    assert json.loads(out)[0]["egress_bytes"] == expected


def test_the_answer_says_what_is_not_covered_or_not_settled(
    served: ThreadedSandbox, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    synced(capsys, served.url, store_url)
    wide = ["--since", "2024-08-01", "--until", "2024-08-10T03:00:00Z", "--now", NOW.isoformat()]
    code, out, err = run(capsys, "total", "--ledger", store_url, *wide)
    assert code == 0, err
    assert "not in the ledger (counted as zero): 2024-08-01 00:00 to 2024-08-07 02:00 UTC" in err
    assert "not settled yet (may still change): 2024-08-10 00:00 to 2024-08-10 03:00 UTC" in err
    assert "not in the ledger" in out  # the table's caption says it too


def test_a_dimension_the_ledger_lacks_is_a_clear_error_until_synced(
    served: ThreadedSandbox, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    synced(capsys, served.url, store_url)
    now = ["--now", NOW.isoformat(), "--format", "json"]
    code, _, err = run(capsys, "top-users", "--ledger", store_url, *SPAN, *now)
    assert code == ExitCode.QUERY
    assert "needs dimensions username" in err
    assert "turnmeter sync --dimensions" in err
    synced(capsys, served.url, store_url, "key_id,username")
    code, ledger, err = run(capsys, "top-users", "--ledger", store_url, *SPAN, *now)
    assert code == 0, err
    code, live, _ = run(capsys, "top-users", "--sandbox", served.url, *SPAN, *now)
    assert json.loads(ledger) == json.loads(live)


def test_export_from_the_ledger_is_per_customer_per_month(
    served: ThreadedSandbox, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert served.sandbox is not None
    july = datetime(2024, 7, 31, 22, 30, tzinfo=UTC)
    served.sandbox.add_rows([replace(served.sandbox.rows()[0], minute=july, egress_bytes=4242)])
    code, _, err = run(
        capsys,
        "sync",
        "--sandbox",
        served.url,
        "--store",
        store_url,
        "--now",
        NOW.isoformat(),
        "--since",
        "2024-07-31T20:00:00Z",
    )
    assert code == 0, err
    code, out, err = run(
        capsys,
        "export",
        "--ledger",
        store_url,
        "--since",
        "2024-07-01",
        "--until",
        "2024-08-09",
        "--format",
        "json",
        "--now",
        NOW.isoformat(),
    )
    assert code == 0, err
    rows = json.loads(out)
    months = {(r["period_start"][:7], r["custom_identifier"]): r["egress_bytes"] for r in rows}
    expected: dict[tuple[str, str], int] = {}
    for row in served.sandbox.rows():
        if row.minute < datetime(2024, 8, 9, tzinfo=UTC):
            key = (f"{row.minute:%Y-%m}", row.custom_identifier)
            expected[key] = expected.get(key, 0) + row.egress_bytes
    assert months == expected
    assert {month for month, _ in months} == {"2024-07", "2024-08"}
    july_row = next(r for r in rows if r["period_start"].startswith("2024-07"))
    assert july_row["period_end"].startswith("2024-08-01T00:00")
    assert float(july_row["cost_usd"]) == round(4242 / 1e9 * 0.05, 4)
    assert "not in the ledger (counted as zero): 2024-07-01 00:00 to 2024-07-31 20:00 UTC" in err
    assert CANARY_PG_PASSWORD not in out + err


def test_ledger_status_shows_settled_unsettled_and_gaps(
    served: ThreadedSandbox, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    synced(capsys, served.url, store_url)
    code, out, err = run(capsys, "ledger", "status", "--store", store_url)
    assert code == 0, err
    assert "hour by key_id,custom_identifier: 73 buckets" in out
    assert "settled: 2024-08-07 02:00 to 2024-08-10 00:00 UTC" in out
    assert "unsettled: 2024-08-10 00:00 to 2024-08-10 03:00 UTC" in out
    assert "gaps: none" in out
    assert CANARY_PG_PASSWORD not in out + err


def test_sync_spends_the_budget_shared_through_a_file(
    served: ThreadedSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from turnmeter.transport.ratelimit import RateBudget, RateLimiter

    budget = tmp_path / "budget.db"
    store = f"sqlite:///{tmp_path / 'ledger.db'}"
    code, out, err = run(
        capsys,
        "sync",
        "--sandbox",
        served.url,
        "--store",
        store,
        "--now",
        NOW.isoformat(),
        "--since",
        SINCE.isoformat(),
        "--rate-budget-file",
        str(budget),
    )
    assert code == 0, err
    assert "1 window, 2 queries" in out
    # Another process naming the same file sees what the sync spent.
    assert RateLimiter(RateBudget(path=budget)).used() == 2
