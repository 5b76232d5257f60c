"""TurnCredentials against the sandbox: issue, use, revoke; the bare generate; TTL; retries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import aiohttp
import pytest

from tests.conftest import KEY_CANARY
from tests.credentials.conftest import KEY_ID
from tests.usage_data import NOW
from turnmeter import (
    AuthError,
    ConfigError,
    GraphQLErrors,
    IceTransport,
    MalformedResponse,
    Query,
    RetryEvent,
    TurnCredentials,
    TurnUsage,
)
from turnmeter.credentials import MAX_TTL
from turnmeter.sandbox import Fault, RelayRefused, Sandbox
from turnmeter.transport.retry import NO_RETRY

ALL_TRANSPORTS = set(IceTransport)


async def test_issue_use_revoke(
    key_sandbox: Sandbox,
    analytics: TurnUsage,
    credentials_for: Callable[..., TurnCredentials],
) -> None:
    async with credentials_for() as creds:
        servers = await creds.issue(custom_identifier="acme", ttl=3600)
        assert servers.transports == ALL_TRANSPORTS  # STUN, TURN UDP and TCP, TURNS
        assert servers.urls_for(IceTransport.STUN)[0].startswith("stun:")
        assert servers.username is not None
        assert not servers.stun_only
        turn = next(s for s in servers.servers if s.username)
        assert turn.credential
        assert turn.credential not in repr(servers)
        browser = servers.to_json()["iceServers"]
        assert browser[1] == {
            "urls": list(turn.urls),
            "username": servers.username,
            "credential": turn.credential,
        }

        # Use: the relay's traffic shows up in usage under the username and its customer.
        key_sandbox.relay(servers.username, egress_bytes=123_456_789, ingress_bytes=42)
        key_sandbox.relay(servers.username, egress_bytes=1, minute=NOW + timedelta(minutes=1))
        later = NOW + timedelta(minutes=5)
        key_sandbox.set_now(later)
        query = Query(
            dimensions=("username", "custom_identifier", "key_id"), metrics=("egress_bytes",)
        )
        rows = await analytics.query(query, NOW - timedelta(hours=1), later, clock=lambda: later)
        mine = [row for row in rows if row.username == servers.username]
        assert [(r.custom_identifier, r.key_id, r.egress_bytes) for r in mine] == [
            ("acme", KEY_ID, 123_456_790)
        ]

        await creds.revoke(servers.username)
        with pytest.raises(RelayRefused, match="revoked"):
            key_sandbox.relay(servers.username, egress_bytes=1)
        with pytest.raises(GraphQLErrors, match="no such credential") as caught:
            await creds.revoke("0" * 96)
    assert caught.value.status == 404


async def test_the_bare_generate_endpoint(
    key_sandbox: Sandbox, credentials_for: Callable[..., TurnCredentials]
) -> None:
    async with credentials_for() as creds:
        server = await creds.generate(custom_identifier="tango", ttl=60)
    assert server.transports == ALL_TRANSPORTS
    assert server.username
    assert server.credential
    assert "credential=" not in repr(server)
    (issued,) = key_sandbox.state.turn_keys.issued()
    assert (issued.username, issued.custom_identifier) == (server.username, "tango")


async def test_expired_credentials_relay_nothing(
    key_sandbox: Sandbox, credentials_for: Callable[..., TurnCredentials]
) -> None:
    async with credentials_for() as creds:
        servers = await creds.issue(ttl=120)
    assert servers.username is not None
    key_sandbox.relay(servers.username, egress_bytes=10, minute=NOW + timedelta(minutes=1))
    with pytest.raises(RelayRefused, match="expired"):
        key_sandbox.relay(servers.username, egress_bytes=10, minute=NOW + timedelta(minutes=3))


@pytest.mark.parametrize("ttl", [0, -1, MAX_TTL + 1, 1.5, True, "3600", None, 10**30])
async def test_ttl_is_checked_before_anything_is_sent(
    key_sandbox: Sandbox, credentials_for: Callable[..., TurnCredentials], ttl: object
) -> None:
    async with credentials_for() as creds:
        with pytest.raises(ConfigError, match="ttl"):
            await creds.issue(custom_identifier="acme", ttl=ttl)  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="ttl"):
            await creds.generate(ttl=ttl)  # type: ignore[arg-type]
    assert key_sandbox.state.turn_keys.issued() == []


async def test_the_longest_ttl_is_48_hours(
    key_sandbox: Sandbox, credentials_for: Callable[..., TurnCredentials]
) -> None:
    async with credentials_for() as creds:
        servers = await creds.issue(ttl=MAX_TTL)
    (issued,) = key_sandbox.state.turn_keys.issued()
    assert servers.ttl == 48 * 3600
    assert issued.expires == NOW + timedelta(hours=48)


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("key_id", "../../accounts"),
        ("key_id", ""),
        ("key_token", ""),
        ("endpoint", "ftp://example.com"),
    ],
)
def test_bad_construction_is_a_config_error(argument: str, value: str) -> None:
    options = {"key_id": KEY_ID, "key_token": KEY_CANARY, argument: value}
    with pytest.raises(ConfigError) as caught:
        TurnCredentials(**options, environ={})  # type: ignore[arg-type]
    assert KEY_CANARY not in str(caught.value)


async def test_bad_usernames_and_identifiers_are_refused_before_sending(
    key_sandbox: Sandbox, credentials_for: Callable[..., TurnCredentials]
) -> None:
    async with credentials_for() as creds:
        for username in ("a/../b", "", "x" * 300, "name?q=1"):
            with pytest.raises(ConfigError, match="username"):
                await creds.revoke(username)
        for customer in ("", "line\nbreak", "x" * 300):
            with pytest.raises(ConfigError, match="custom_identifier"):
                await creds.issue(custom_identifier=customer, ttl=60)
    assert key_sandbox.state.turn_keys.issued() == []


async def test_key_and_token_from_the_environment(
    key_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUDFLARE_TURN_KEY_ID", KEY_ID)
    monkeypatch.setenv("CLOUDFLARE_TURN_KEY_TOKEN", KEY_CANARY)
    monkeypatch.setenv("TURNMETER_RTC_ENDPOINT", key_sandbox.rtc_url)
    async with TurnCredentials() as creds:
        servers = await creds.issue(ttl=60)
    assert servers.username is not None


async def test_a_503_is_retried_and_mints_one_credential(
    key_sandbox: Sandbox, credentials_for: Callable[..., TurnCredentials]
) -> None:
    retries: list[RetryEvent] = []
    key_sandbox.faults.push(Fault.status(503))
    async with credentials_for(on_retry=retries.append) as creds:
        servers = await creds.issue(custom_identifier="acme", ttl=60)
    assert [type(event.error).__name__ for event in retries] == ["Overloaded"]
    assert [i.username for i in key_sandbox.state.turn_keys.issued()] == [servers.username]


async def test_a_503_without_retries_reaches_the_caller(
    key_sandbox: Sandbox, credentials_for: Callable[..., TurnCredentials]
) -> None:
    key_sandbox.faults.push(Fault.status(503))
    async with credentials_for(retry=NO_RETRY) as creds:
        with pytest.raises(GraphQLErrors) as caught:
            await creds.issue(ttl=60)
    assert type(caught.value).__name__ == "Overloaded"
    assert caught.value.status == 503


async def test_the_analytics_token_is_not_the_key_token(
    key_sandbox: Sandbox, credentials_for: Callable[..., TurnCredentials]
) -> None:
    async with credentials_for(key_token=key_sandbox.config.token, retry=NO_RETRY) as creds:
        with pytest.raises(AuthError, match="Authentication error") as caught:
            await creds.issue(ttl=60)
    assert caught.value.status == 401
    assert caught.value.errors[0].code == "10000"


async def test_the_sandbox_answers_cloudflare_envelopes(key_sandbox: Sandbox) -> None:
    url = f"{key_sandbox.rtc_url}/turn/keys/{KEY_ID}/credentials/generate-ice-servers"
    good = {"Authorization": f"Bearer {KEY_CANARY}"}
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"ttl": 60}) as response:
            assert response.status == 401
            assert await response.json() == {
                "success": False,
                "errors": [{"code": 10000, "message": "Authentication error"}],
                "messages": [],
                "result": None,
            }
        for body in ({"ttl": 0}, {"ttl": "60"}, {"ttl": 60, "customIdentifier": 5}, [1]):
            async with session.post(url, json=body, headers=good) as response:
                assert response.status == 400
                assert (await response.json())["success"] is False
        async with session.post(url, json={"ttl": 60}, headers=good) as response:
            assert response.status == 201
            servers = (await response.json())["iceServers"]
    assert [sorted(server) for server in servers] == [
        ["urls"],
        ["credential", "urls", "username"],
    ]


@pytest.mark.parametrize(
    "body",
    [
        '{"iceServers": [{"urls": ["turn:turn.example:3478"]}]}',  # TURN without credentials
        '{"iceServers": [{"urls": ["http://not-ice"]}]}',
        '{"iceServers": []}',
        '{"servers": []}',
        "[]",
        '{"iceServers": [{"urls": "stun:a", "username": 5}]}',
    ],
)
async def test_a_malformed_answer_is_refused(
    key_sandbox: Sandbox, credentials_for: Callable[..., TurnCredentials], body: str
) -> None:
    key_sandbox.faults.push(Fault.status(201, body=body))
    async with credentials_for(retry=NO_RETRY) as creds:
        with pytest.raises(MalformedResponse):
            await creds.issue(ttl=60)


async def test_the_control_api_relays_for_another_process(
    key_sandbox: Sandbox, credentials_for: Callable[..., TurnCredentials]
) -> None:
    url = key_sandbox.url.replace("/graphql", "/__sandbox/turn/relay")
    control = {"Authorization": f"Bearer {key_sandbox.config.token}"}
    async with credentials_for() as creds:
        servers = await creds.issue(custom_identifier="acme", ttl=600)
        username = servers.username
        assert username is not None
        async with aiohttp.ClientSession() as session:
            body = {"username": username, "egress_bytes": 777, "minute": "2024-08-10T02:08:30Z"}
            async with session.post(url, json=body) as response:
                assert response.status == 401  # the control API takes the sandbox token
            async with session.post(url, json=body, headers=control) as response:
                assert response.status == 200
                assert (await response.json())["minute"] == "2024-08-10T02:08:00+00:00"
            for bad in ({"username": username, "egress_bytes": -1}, {"egress_bytes": 1}, [1]):
                async with session.post(url, json=bad, headers=control) as response:
                    assert response.status == 400
            await creds.revoke(username)
            async with session.post(url, json=body, headers=control) as response:
                assert response.status == 400
                assert "revoked" in (await response.json())["errors"][0]["message"]
    mine = [row for row in key_sandbox.rows() if row.username == username]
    assert [(r.custom_identifier, r.key_id, r.egress_bytes) for r in mine] == [
        ("acme", KEY_ID, 777)
    ]
