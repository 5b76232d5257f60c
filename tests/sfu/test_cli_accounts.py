"""``--account A --account B`` on the usage commands: one report with an account column, the
forbidden account named on stderr and in the caption, exit code 11 (partial)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.cli.conftest import ThreadedSandbox
from tests.conftest import CANARY_TOKEN
from tests.sfu.conftest import FORBIDDEN, NOW, SECOND
from turnmeter.cli import main
from turnmeter.cli.exit_codes import ExitCode
from turnmeter.sandbox import SandboxConfig

NOW_TEXT = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def accounts_sandbox() -> Iterator[ThreadedSandbox]:
    config = SandboxConfig(
        token=CANARY_TOKEN,
        now=NOW,
        days=12,
        customers=12,
        rate_limit=None,
        other_accounts=(SECOND,),
        forbidden_accounts=(FORBIDDEN,),
    )
    with ThreadedSandbox(config) as server:
        yield server


@pytest.fixture
def url(monkeypatch: pytest.MonkeyPatch, accounts_sandbox: ThreadedSandbox) -> str:
    monkeypatch.setenv("TURNMETER_SANDBOX_TOKEN", CANARY_TOKEN)
    monkeypatch.delenv("TURNMETER_CONFIG", raising=False)
    return accounts_sandbox.url


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list, str]:
    code = main([*argv, "--now", NOW_TEXT, "--format", "json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def test_total_over_two_accounts_and_a_forbidden_one(
    url: str, accounts_sandbox: ThreadedSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    main_tag = accounts_sandbox.config.account_tag
    code, rows, err = _run(
        capsys,
        "total", "--sandbox", url, "--since", "2d",
        "--account", main_tag, "--account", SECOND, "--account", FORBIDDEN,
    )  # fmt: skip
    assert code == ExitCode.PARTIAL
    assert [row["account"] for row in rows] == [main_tag, SECOND]
    sandbox = accounts_sandbox.sandbox
    assert sandbox is not None
    since = NOW - timedelta(days=2)
    for row, account in zip(rows, (None, SECOND), strict=True):
        raw = [r for r in sandbox.rows(account) if since <= r.minute < NOW]
        assert row["egress_bytes"] == sum(r.egress_bytes for r in raw)
    assert FORBIDDEN in err
    assert "not authorized for that account" in err
    assert "missing 1 of 3 accounts" in err
    assert CANARY_TOKEN not in err


def test_bill_over_two_accounts(
    url: str, accounts_sandbox: ThreadedSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    main_tag = accounts_sandbox.config.account_tag
    code, rows, err = _run(
        capsys, "bill", "--sandbox", url, "--account", main_tag, "--account", SECOND
    )
    assert code == 0, err
    assert [row["account"] for row in rows] == [main_tag, SECOND]
    sandbox = accounts_sandbox.sandbox
    assert sandbox is not None
    start = NOW.replace(day=1, hour=0)
    for row, account in zip(rows, (None, SECOND), strict=True):
        turn = sum(r.egress_bytes for r in sandbox.rows(account) if start <= r.minute < NOW)
        sfu = sum(r.egress_bytes for r in sandbox.sfu_rows(account) if start <= r.minute < NOW)
        assert (row["turn_egress_bytes"], row["sfu_egress_bytes"]) == (turn, sfu)
        assert row["billed_upper_bytes"] == turn + sfu


def test_only_forbidden_accounts_fail_as_auth_errors(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["top-keys", "--sandbox", url, "--account", FORBIDDEN, "--account", "0" * 32])
    assert code == ExitCode.AUTH
    assert "not authorized for that account" in capsys.readouterr().err


def test_query_and_series_on_the_sfu_dataset(
    url: str, accounts_sandbox: ThreadedSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = accounts_sandbox.sandbox
    assert sandbox is not None
    since = NOW - timedelta(days=1)
    raw = [r for r in sandbox.sfu_rows() if since <= r.minute < NOW and r.track_type == "video"]
    expected: dict[str, int] = {}
    for r in raw:
        expected[r.app_id] = expected.get(r.app_id, 0) + r.egress_bytes
    code, rows, err = _run(
        capsys,
        "query", "--sandbox", url, "--dataset", "sfu", "--since", "1d",
        "--dimensions", "app_id", "--metrics", "egress_bytes",
        "--filter", "track_type = video",
    )  # fmt: skip
    assert code == 0, err
    assert {row["app_id"]: row["egress_bytes"] for row in rows} == expected
    code, rows, err = _run(
        capsys, "series", "--sandbox", url, "--dataset", "sfu", "--since", "1d", "--every", "hour"
    )
    assert code == 0, err
    # no averages on the SFU; partial marks the buckets the range cuts (issue 19)
    assert set(rows[0]) == {"bucket", "egress_bytes", "ingress_bytes", "partial"}
    every = [r for r in sandbox.sfu_rows() if since <= r.minute < NOW]
    assert sum(row["egress_bytes"] for row in rows) == sum(r.egress_bytes for r in every)


def test_turn_flags_are_refused_on_the_sfu(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["query", "--sandbox", url, "--dataset", "sfu", "--key", "k1"])
    assert code == ExitCode.USAGE  # a bad argument exits 2
    assert "--filter 'FIELD OP VALUE'" in capsys.readouterr().err
    code = main(["query", "--sandbox", url, "--dataset", "sfu", "--filter", "key_id = k"])
    assert code == ExitCode.USAGE
    assert "dimensions are: app_id, session_id" in capsys.readouterr().err
