"""The command line under hostile input: impossible values, dead endpoints, foreign sandboxes.

Every impossible value ends in one clear stderr line that names the option, with the documented
exit code (2 for a value argparse checks on its own, 4 for one the library or the clock
judges, 10 for unreadable schema input), never in Python's own words with exit 1.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.conftest import CANARY_TOKEN
from turnmeter.cli import main
from turnmeter.cli.exit_codes import ExitCode
from turnmeter.sandbox.model import DEFAULT_TOKEN

RANGE = ["--since", "2d"]
#: Python's own words for the failures this file was written against: none may reach a user.
PYTHON_WORDS = (
    "Python int too large",
    "date value out of range",
    "cannot convert float",
    "randrange",
    "--debug for a traceback",
)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens there once the probe is closed: connections are refused


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TURNMETER_", "CLOUDFLARE_"))}
    return env | {"XDG_CONFIG_HOME": "/nonexistent-turnmeter-test"} | extra


def test_network_failure_prints_exactly_one_line() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/graphql"
    done = subprocess.run(
        [sys.executable, "-m", "turnmeter", "total", "--sandbox", url, *RANGE],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == ExitCode.TRANSPORT
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("turnmeter: ")


LIBRARY_USER = """
import asyncio
from turnmeter import TransportError, TurnUsage

async def main(url):
    async with TurnUsage(account_tag="a" * 32, api_token="t", endpoint=url) as turn:
        try:
            await turn.limits()
        except TransportError:
            print("caught")

import sys
asyncio.run(main(sys.argv[1]))
"""


def test_library_prints_nothing_a_user_did_not_ask_for() -> None:
    # A library without a NullHandler has its WARNINGs printed by logging.lastResort.
    url = f"http://127.0.0.1:{_closed_port()}/graphql"
    done = subprocess.run(
        [sys.executable, "-c", LIBRARY_USER, url],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout == "caught\n"
    assert done.stderr == ""


@pytest.mark.parametrize(
    ("argv", "code", "words"),
    [
        (["top-keys", "--sandbox", "--since", "99999999999d"], ExitCode.USAGE, "--since"),
        (["top-keys", "--sandbox", "--since", "800000d"], ExitCode.USAGE, "--since"),
        (["top-keys", "--sandbox", "--until", "99999999999w"], ExitCode.USAGE, "--until"),
        (["top-keys", "--sandbox", "--until", "0001-01-02"], ExitCode.USAGE, "range"),
        (
            ["top-keys", "--sandbox", "--since", "9999-12-31T23:00-05:00"],
            ExitCode.USAGE,
            "--since",
        ),
        (["top-keys", "--sandbox", "--now", "99999999999d"], ExitCode.USAGE, "--now"),
        (["top-keys", "--sandbox", "--month", "9999-12"], ExitCode.USAGE, "month"),
        (["top-keys", "--sandbox", "--month", "0000-01"], ExitCode.USAGE, "month"),
        (["top-keys", "--sandbox", *RANGE, "--timeout", "inf"], ExitCode.USAGE, "timeout"),
        (["top-keys", "--sandbox", *RANGE, "--timeout", "nan"], ExitCode.USAGE, "timeout"),
        (["top-keys", "--sandbox", *RANGE, "--timeout", "0"], ExitCode.USAGE, "timeout"),
        (["top-keys", "--sandbox", *RANGE, "--customer", ""], ExitCode.USAGE, "--customer"),
        (["usage", "--sandbox", *RANGE, "--key", ""], ExitCode.USAGE, "--key"),
        (["budget", "--sandbox", "--customer", ""], ExitCode.USAGE, "--customer"),
        (["budget", "--sandbox", "--key", ""], ExitCode.USAGE, "--key"),
        (
            ["top-keys", "--sandbox", *RANGE, "--filter", "username = a\nb"],
            ExitCode.USAGE,
            "line break",
        ),
        (
            ["top-keys", "--sandbox", *RANGE, "--filter", "hour > 99999999999d"],
            ExitCode.USAGE,
            "--filter hour",
        ),
    ],
)
def test_impossible_inputs_get_a_clear_message_and_the_documented_code(
    cli_env: str, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, words: str
) -> None:
    got, out, err = _run(capsys, *argv)
    assert (got, out) == (code, "")
    assert words in err
    assert not [w for w in PYTHON_WORDS if w in err], err
    if code == ExitCode.CONFIG:
        assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--days", "-3"), ("--days", "0"), ("--keys", "0"), ("--customers", "-1")],
)
def test_sandbox_seed_refuses_impossible_sizes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, flag: str, value: str
) -> None:
    target = tmp_path / "usage.sqlite"
    code, _, err = _run(capsys, "sandbox", "seed", "--out", str(target), flag, value)
    assert code == ExitCode.USAGE
    assert flag in err
    assert not [w for w in PYTHON_WORDS if w in err], err
    assert not target.exists()


@pytest.mark.parametrize(
    ("flag", "value"), [("--latency", "nan"), ("--latency", "-1"), ("--rate-window", "inf")]
)
def test_sandbox_serve_refuses_impossible_seconds(flag: str, value: str) -> None:
    # A subprocess: a sandbox that accepted the value would serve until killed.
    argv = ["sandbox", "serve", "--port", str(_closed_port()), flag, value]
    try:
        done = subprocess.run(
            [sys.executable, "-m", "turnmeter", *argv],
            env=_clean_env(),
            capture_output=True,
            text=True,
            timeout=20,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"sandbox serve {flag} {value} was accepted and served")
    assert done.returncode == ExitCode.USAGE
    assert flag in done.stderr


def test_schema_diff_on_garbage_is_a_schema_input_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    garbage = tmp_path / "garbage.graphql"
    garbage.write_text("this is {{ not a schema\n", encoding="utf-8")
    code, out, err = _run(capsys, "schema", "diff", str(garbage), str(garbage))
    assert code == ExitCode.SCHEMA
    assert out == ""
    assert len(err.strip().splitlines()) == 1


@pytest.fixture
async def recording_server() -> AsyncIterator[tuple[str, list[str]]]:
    """A stranger's server that writes down every Authorization header it is sent."""
    seen: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        return web.json_response({"data": None, "errors": [{"message": "not authorized"}]})

    app = web.Application()
    app.router.add_post("/graphql", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/graphql", seen
    finally:
        await runner.cleanup()


async def _cli(*argv: str, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "turnmeter",
        *argv,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, (out + err).decode()


async def test_sandbox_url_never_receives_the_cloudflare_token(
    recording_server: tuple[str, list[str]],
) -> None:
    url, seen = recording_server
    env = _clean_env(CLOUDFLARE_API_TOKEN=CANARY_TOKEN)
    _, output = await _cli("limits", "--sandbox", url, env=env)
    _, output_env = await _cli("limits", "--sandbox", env=env | {"TURNMETER_SANDBOX_URL": url})
    assert seen
    assert not [header for header in seen if CANARY_TOKEN in header]
    assert set(seen) == {f"Bearer {DEFAULT_TOKEN}"}
    assert CANARY_TOKEN not in output + output_env


async def test_sandbox_token_is_what_the_user_says(
    recording_server: tuple[str, list[str]],
) -> None:
    url, seen = recording_server
    env = _clean_env(CLOUDFLARE_API_TOKEN=CANARY_TOKEN, TURNMETER_SANDBOX_TOKEN="my-sandbox")
    await _cli("limits", "--sandbox", url, env=env)
    assert seen
    assert set(seen) == {"Bearer my-sandbox"}
