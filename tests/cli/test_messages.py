"""Every usage command's error paths speak to a person at a terminal, not to a Python caller.

No message names a Python parameter (``clip=True``, ``limit=None``, ``account_tag=``) or prints a
``timedelta``; bad arguments exit 2; only credential errors carry the credentials hint.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.cli.conftest import ThreadedSandbox
from tests.usage_data import NOW, START, usage_rows
from turnmeter.cli import main
from turnmeter.cli.exit_codes import ExitCode
from turnmeter.sandbox import SandboxConfig

RANGE = ["--since", START.isoformat(), "--until", NOW.isoformat(), "--now", NOW.isoformat()]
AT_NOW = ["--now", NOW.isoformat()]
#: What a message written for Python callers looks like.
PYTHON = re.compile(
    r"\b[a-z]+(_[a-z]+)*=(True|False|None|\s|$|\))"  # clip=True, limit=None, "pass account_tag= or"
    r"|\b(True|False|None)\b"
    r"|\d+ days?, \d+:\d\d:\d\d"  # str(timedelta)
    r"|Traceback|Error:"
)
CREDENTIALS_HINT = "CLOUDFLARE_API_TOKEN"

#: Error paths every usage command shares (each command adds them to its own arguments).
SHARED = {
    "since-too-old": (["--since", "100d", *AT_NOW], ExitCode.QUERY),
    "bad-since": (["--since", "yesterday-ish"], ExitCode.USAGE),
    "bad-month": (["--month", "2024-13"], ExitCode.USAGE),
    "month-and-today": (["--month", "2024-07", "--today"], ExitCode.USAGE),
    "bad-now": (["--now", "soon"], ExitCode.USAGE),
    "timeout-zero": (["--timeout", "0", *RANGE], ExitCode.USAGE),
    "bad-filter": (["--filter", "colour = red", *RANGE], ExitCode.USAGE),
    "bad-format": (["--format", "yaml", *RANGE], ExitCode.USAGE),
}
COMMANDS = {
    "top-keys": ["top-keys"],
    "top-customers": ["top-customers"],
    "top-users": ["top-users"],
    "usage": ["usage", "--customer", "tango"],
    "total": ["total"],
    "series": ["series", "--every", "hour"],
    "query": ["query", "--dimensions", "key_id"],
}
#: Error paths of one command.
OWN = [
    (["top-keys", "--limit", "20000", *RANGE], ExitCode.QUERY, "--limit 0"),
    (["query", "--dimensions", "key_id", "--limit", "20000", *RANGE], ExitCode.QUERY, "--limit 0"),
    (["top-keys", "--limit", "-1", *RANGE], ExitCode.USAGE, "--limit"),
    (["usage", *RANGE], ExitCode.USAGE, "exactly one of --customer"),
    (["query", "--metrics", "", *RANGE], ExitCode.USAGE, "--metrics"),
    (["query", "--dimensions", "planet", *RANGE], ExitCode.QUERY, "planet"),
    (["query", "--chart", "q.png", *RANGE], ExitCode.USAGE, "--dimensions"),
    (["top-keys", "--chart", "out.jpg", *RANGE], ExitCode.USAGE, ".png or .svg"),
    (["series", "--every", "week", *RANGE], ExitCode.USAGE, "--every"),
    (["budget", "--budget", "lots", *AT_NOW], ExitCode.USAGE, "budget"),
]


def failing(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    assert captured.out == ""
    return code, captured.err


def assert_for_people(err: str, code: int) -> None:
    assert err.strip(), "no message"
    found = PYTHON.search(err)
    assert found is None, f"Python words {found.group(0)!r} in: {err}"
    assert (CREDENTIALS_HINT in err) == (code == ExitCode.CONFIG), err


@pytest.mark.parametrize("path", sorted(SHARED))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_shared_error_paths(
    cli_env: str, capsys: pytest.CaptureFixture[str], command: str, path: str
) -> None:
    extra, expected = SHARED[path]
    code, err = failing(capsys, [*COMMANDS[command], "--sandbox", *extra])
    assert code == expected, err
    assert_for_people(err, code)


@pytest.mark.parametrize(("argv", "expected", "words"), OWN)
def test_own_error_paths(
    cli_env: str, capsys: pytest.CaptureFixture[str], argv: list[str], expected: int, words: str
) -> None:
    code, err = failing(capsys, [*argv, "--sandbox"])
    assert code == expected, err
    assert words in err
    assert_for_people(err, code)


def test_too_old_says_clip_and_clip_works(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, err = failing(capsys, ["total", "--sandbox", "--since", "100d", *AT_NOW])
    assert "pass --clip to start there instead" in err
    assert "notOlderThan 92 days" in err
    assert main(["total", "--sandbox", "--since", "100d", *AT_NOW, "--clip"]) == 0
    capsys.readouterr()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_no_account_is_a_credentials_error(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("CLOUDFLARE_ACCOUNT_ID", "TURNMETER_CONFIG", "TURNMETER_SANDBOX_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent-turnmeter-test")
    code, err = failing(capsys, [*COMMANDS[command], *RANGE])
    assert code == ExitCode.CONFIG
    assert "pass --account or set CLOUDFLARE_ACCOUNT_ID" in err
    assert_for_people(err, code)


def test_limit_0_means_every_row(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["top-users", "--sandbox", *RANGE, "--limit", "0", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    users = {row.username for row in usage_rows() if START <= row.minute < NOW}
    assert len(lines) == 1 + len(users)  # the header and every username


def test_limits_and_budget_read_as_words(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["limits", "--sandbox"]) == 0
    out = capsys.readouterr().out
    assert "31 days" in out
    assert "92 days" in out
    assert "0:00:00" not in out
    assert main(["budget", "--sandbox", *AT_NOW, "--budget", "1000"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"over budget\s+│\s+no\b", out), out
    assert "False" not in out


def test_table_headers_carry_no_unit_the_cells_already_show(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["top-keys", "--sandbox", *RANGE]) == 0
    header = next(line for line in capsys.readouterr().out.splitlines() if "rank" in line)
    assert "egress bytes" not in header
    assert "share %" in header


def test_verbose_leaves_out_gql_dsl_lines(cli_env: str) -> None:
    # its own process: -v configures logging, which pytest's own handlers would hide here
    argv = ["total", "--sandbox", *RANGE, "-v"]
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from turnmeter.cli import main; sys.exit(main())",
            *argv,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "turnmeter" in done.stderr  # -v does log the request
    assert "gql.dsl" not in done.stderr


def test_a_sandboxs_own_rate_limit_is_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TURNMETER_SANDBOX_TOKEN", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent-turnmeter-test")
    config = SandboxConfig(rate_limit=1, rate_window=60.0, now=NOW)
    with ThreadedSandbox(config) as server:
        argv = ["top-keys", "--sandbox", server.url, *RANGE]
        codes = [main(argv) for _ in range(2)]  # top-keys asks two nodes: the second is refused
        err = capsys.readouterr().err
    assert ExitCode.RATE_LIMITED in codes
    assert "this sandbox allows 1 query per minute" in err
    assert "300 queries" not in err
