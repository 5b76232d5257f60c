"""The server-binary helper: skips outside CI, fails in CI, never silently passes."""

from __future__ import annotations

import pytest

from tests.servers import REQUIRE_ENV, free_port, server_binary


def test_missing_binary_fails_when_ci_requires_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="apt-get install"):
        server_binary("turnmeter-no-such-server")


def test_missing_binary_skips_with_install_hint_outside_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y redis-server"):
        _missing_redis(monkeypatch)


def _missing_redis(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PATH", "/nonexistent")
    return server_binary("redis-server")


def test_free_port_is_a_usable_number() -> None:
    assert 1024 <= free_port() <= 65535
