"""``turnmeter credentials issue|revoke`` against a threaded sandbox serving the TURN key API."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import ThreadedSandbox
from tests.conftest import CANARY_TOKEN, KEY_CANARY
from tests.usage_data import NOW
from turnmeter.cli import main
from turnmeter.sandbox import SandboxConfig

CANARIES = (CANARY_TOKEN, KEY_CANARY)
AT_NOW = ["--now", NOW.isoformat()]


@pytest.fixture(scope="module")
def key_server(rows_config: SandboxConfig) -> Iterator[ThreadedSandbox]:
    config = dataclasses.replace(rows_config, turn_key_token=KEY_CANARY)
    with ThreadedSandbox(config) as server:
        yield server


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, key_server: ThreadedSandbox) -> ThreadedSandbox:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", CANARY_TOKEN)
    monkeypatch.setenv("CLOUDFLARE_TURN_KEY_TOKEN", KEY_CANARY)  # --sandbox never sends it
    monkeypatch.setenv("TURNMETER_SANDBOX_TOKEN", CANARY_TOKEN)
    monkeypatch.setenv("TURNMETER_SANDBOX_TURN_KEY_TOKEN", KEY_CANARY)
    monkeypatch.setenv("TURNMETER_SANDBOX_URL", key_server.url)
    monkeypatch.delenv("TURNMETER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent-turnmeter-test")
    return key_server


def issued(server: ThreadedSandbox) -> list[str]:
    assert server.sandbox is not None
    return [i.username for i in server.sandbox.state.turn_keys.issued()]


def test_issue_json_then_revoke(env: ThreadedSandbox, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["credentials", "issue", "--sandbox", "--customer", "acme", "--ttl", "1h"]
    assert main([*argv, "--format", "json"]) == 0
    servers = json.loads(capsys.readouterr().out)["iceServers"]
    username = servers[1]["username"]
    assert servers[1]["credential"]
    assert username in issued(env)
    assert main(["credentials", "revoke", username, "--sandbox"]) == 0
    assert capsys.readouterr().out == f"revoked {username}\n"
    assert main(["credentials", "revoke", username + "0", "--sandbox"]) != 0
    assert "no such credential" in capsys.readouterr().err


def test_issue_table_names_every_transport(
    env: ThreadedSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["credentials", "issue", "--sandbox", "--ttl", "90s"]) == 0
    out = capsys.readouterr().out
    for transport in ("stun", "turn_udp", "turn_tcp", "turns"):
        assert transport in out
    assert "TTL 90 s" in out
    assert f"username   {issued(env)[-1]}\n" in out  # whole, not cut to the terminal's width


def test_a_budget_refuses_with_exit_1_or_answers_stun_only(
    env: ThreadedSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    before = issued(env)
    argv = ["credentials", "issue", "--sandbox", *AT_NOW, "--ttl", "1h", "--free-tier-gb", "0"]
    assert main([*argv, "--budget", "0.01"]) == 1
    assert "over_budget" in capsys.readouterr().err
    assert main([*argv, "--budget", "0.01", "--over-budget", "stun-only", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == {
        "iceServers": [{"urls": ["stun:stun.cloudflare.com:3478", "stun:stun.cloudflare.com:53"]}]
    }
    assert "STUN only: over_budget" in err
    assert issued(env) == before
    assert main([*argv, "--budget", "100", "--format", "json"]) == 0
    assert len(issued(env)) == len(before) + 1


def test_a_customer_cap_refuses_that_customer_only(
    env: ThreadedSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["credentials", "issue", "--sandbox", *AT_NOW, "--ttl", "1h", "--customer-cap-gb", "0.1"]
    assert main([*argv, "--customer", "tango"]) == 1
    assert "customer_over_cap" in capsys.readouterr().err
    assert main([*argv, "--customer", "newcomer"]) == 0
    assert main([*argv[:-2], "--customer-cap-gb", "0.1"]) == 2  # a cap needs --customer


def test_the_budget_comes_from_the_config_file(
    env: ThreadedSandbox, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("budget_usd = 0.01\nfree_tier_gb = 0\n")
    argv = ["credentials", "issue", "--sandbox", *AT_NOW, "--ttl", "1h", "--config", str(config)]
    assert main(argv) == 1
    assert "over_budget" in capsys.readouterr().err


@pytest.mark.parametrize("ttl", ["0", "49h", "soon", "-5", "1.5h"])
def test_bad_ttls_are_refused(
    env: ThreadedSandbox, capsys: pytest.CaptureFixture[str], ttl: str
) -> None:
    assert main(["credentials", "issue", "--sandbox", "--ttl", ttl]) in (2, 4)
    assert "ttl" in capsys.readouterr().err.lower()


def test_without_a_key_token_it_says_which_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CLOUDFLARE_TURN_KEY_TOKEN", raising=False)
    monkeypatch.setenv("CLOUDFLARE_TURN_KEY_ID", "abc")
    assert main(["credentials", "issue", "--ttl", "1h"]) == 4
    err = capsys.readouterr().err
    assert "CLOUDFLARE_TURN_KEY_TOKEN" in err
    assert "key_token=" not in err  # CLI users get no Python parameter names


def test_no_token_in_the_cli_output_logs_or_files(
    env: ThreadedSandbox,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    target = tmp_path / "servers.json"
    argv = ["credentials", "issue", "--sandbox", "--ttl", "1h", "-v", "--budget", "100"]
    assert main([*argv, "--format", "json", "-o", str(target)]) == 0
    assert main([*argv, *AT_NOW]) == 0
    out, err = capsys.readouterr()
    files = [path.read_text() for path in tmp_path.rglob("*") if path.is_file()]
    logged = [record.getMessage() for record in caplog.records]
    assert any("credentials issue" in line for line in logged)  # the audit line
    assert "turns:" in files[0]
    leaks = [text for text in (out, err, *files, *logged) for canary in CANARIES if canary in text]
    assert not leaks
