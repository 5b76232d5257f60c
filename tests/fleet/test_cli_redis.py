"""``--redis URL`` and ``$TURNMETER_REDIS_URL`` on the command line: the budget goes to Redis,
and the URL's password never reaches the terminal."""

from __future__ import annotations

import json

import pytest
import redis

from tests.cli.test_usage_commands import RANGE, run
from tests.fleet.conftest import CANARY_REDIS_PASSWORD, RedisServer
from turnmeter.transport.ratelimit_redis import budget_keys

GRANTS = budget_keys("turnmeter:budget")[0]


def grants(server: RedisServer) -> int:
    """The queries counted in Redis: members are "SEQ:COST" (the limits query costs 0)."""
    members = redis.Redis.from_url(server.url).zrange(GRANTS, 0, -1)
    return sum(int(member.rsplit(b":", 1)[1]) for member in members)


def test_redis_flag_shares_the_cli_budget(
    cli_env: str, redis_server: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "total", "--sandbox", *RANGE, "--redis", redis_server.url, "--format", "json"
    )
    assert code == 0
    assert json.loads(out)[0]["egress_bytes"] > 0
    assert grants(redis_server) >= 1  # spent in Redis, where every process sees it


def test_redis_env_with_a_password_shares_the_budget_and_stays_secret(
    cli_env: str,
    redis_with_password: RedisServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TURNMETER_REDIS_URL", redis_with_password.url)
    code, out, err = run(capsys, "total", "--sandbox", *RANGE, "-v", "--format", "json")
    assert code == 0
    assert grants(redis_with_password) >= 1
    assert CANARY_REDIS_PASSWORD not in out + err


def test_a_bad_redis_url_is_a_config_error_that_hides_the_password(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"redis://:{CANARY_REDIS_PASSWORD}@127.0.0.1:6379/notadb"
    code, out, err = run(capsys, "total", "--sandbox", *RANGE, "--redis", url)
    assert code != 0
    assert "database must be a number" in err
    assert CANARY_REDIS_PASSWORD not in out + err
