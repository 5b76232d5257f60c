"""Wrong arguments fail before any request, with messages that say what to change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.usage_data import NOW
from turnmeter import ConfigError, TurnUsage

SINCE = NOW - timedelta(days=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"since": datetime(2024, 8, 1), "until": NOW}, "timezone-aware"),
        ({"since": NOW, "until": SINCE}, "must be before until"),
        ({"since": "2024-08-01", "until": NOW}, "must be a datetime"),
        ({"since": SINCE, "until": NOW, "limit": 0}, "positive integer"),
        ({"since": SINCE, "until": NOW, "limit": True}, "positive integer"),
        ({"since": SINCE, "until": NOW, "key_id": []}, "empty list"),
        ({"since": SINCE, "until": NOW, "key_id": [""]}, "non-empty strings"),
        ({"since": SINCE, "until": NOW, "colour": "red"}, "unknown filter 'colour'"),
        ({"since": SINCE, "until": NOW, "order_by": "-bandwidth"}, "unknown order_by"),
    ],
)
async def test_bad_arguments_raise_config_error(
    turn: TurnUsage, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        await turn.top_keys(**kwargs)  # type: ignore[arg-type]


def test_missing_account_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOUDFLARE_ACCOUNT_ID", raising=False)
    with pytest.raises(ConfigError, match="CLOUDFLARE_ACCOUNT_ID"):
        TurnUsage(api_token="x")


def test_missing_token_for_cloudflare_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    monkeypatch.delenv("TURNMETER_ENDPOINT", raising=False)
    with pytest.raises(ConfigError, match="CLOUDFLARE_API_TOKEN"):
        TurnUsage(account_tag="5a7d00c0ffee5a7d00c0ffee5a7d00c0")


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", "abc123")
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "env-token-value")
    monkeypatch.setenv("TURNMETER_ENDPOINT", "http://127.0.0.1:9/graphql")
    client = TurnUsage()
    assert client.settings.account_tag == "abc123"
    assert client.settings.endpoint == "http://127.0.0.1:9/graphql"
    assert "env-token-value" not in repr(client) + repr(client.settings)


def test_naive_aware_mix_is_refused() -> None:
    aware = datetime(2024, 8, 1, tzinfo=UTC)
    from turnmeter.query.filters import compose_filter

    with pytest.raises(ConfigError):
        compose_filter(aware, datetime(2024, 8, 2))
