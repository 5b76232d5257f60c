"""The sandbox tells clients its clock; ``--sandbox URL`` commands count relative ranges on it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from tests.cli.conftest import ThreadedSandbox
from turnmeter.cli import main
from turnmeter.sandbox import SandboxConfig
from turnmeter.sandbox.clock import CLOCK_HEADER

CLOCK = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedSandbox]:
    """A sandbox serving a file seeded for 2025-06-01, without --now: the file's clock."""
    out: Path = tmp_path_factory.mktemp("seeded") / "usage.sqlite"
    argv = ["sandbox", "seed", "--out", str(out), "--days", "10", "--customers", "6"]
    assert main([*argv, "--now", "2025-06-01T00:00:00Z"]) == 0
    with ThreadedSandbox(SandboxConfig(database=out, rate_limit=None)) as server:
        yield server


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TURNMETER_SANDBOX_TOKEN", raising=False)  # the sandbox's default token
    monkeypatch.delenv("TURNMETER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent-turnmeter-test")


def egress_between(server: ThreadedSandbox, since: datetime, until: datetime) -> int:
    assert server.sandbox is not None
    return sum(r.egress_bytes for r in server.sandbox.rows() if since <= r.minute < until)


def total(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(["total", *argv, "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert isinstance(row, dict)
    return row


async def test_every_answer_carries_the_clock(seeded: ThreadedSandbox) -> None:
    async with aiohttp.ClientSession() as http:
        for method, path in (("POST", "/graphql"), ("GET", "/nowhere"), ("GET", "/graphql")):
            url = seeded.url.replace("/graphql", path)
            async with http.request(method, url, data=b"{}") as response:
                assert response.headers[CLOCK_HEADER] == "2025-06-01T00:00:00Z", (method, path)


def test_since_7d_counts_on_the_sandbox_clock(
    seeded: ThreadedSandbox, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    row = total(["--sandbox", seeded.url, "--since", "7d"], capsys)
    expected = egress_between(seeded, CLOCK - timedelta(days=7), CLOCK)
    assert expected > 0
    assert row["egress_bytes"] == expected
    assert row["until"] == "2025-06-01T00:00:00Z"


def test_now_still_wins(
    seeded: ThreadedSandbox, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    now = CLOCK - timedelta(days=2)
    argv = ["--sandbox", seeded.url, "--since", "1d", "--now", "2025-05-30T00:00:00Z"]
    row = total(argv, capsys)
    assert row["egress_bytes"] == egress_between(seeded, now - timedelta(days=1), now)
