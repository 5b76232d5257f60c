"""Neither the analytics token (CANARY_TOKEN) nor the TURN key token (KEY_CANARY) leaks: not in
a log record, a repr, an exception, or a file."""

from __future__ import annotations

import json
import logging
import pickle
from collections.abc import Callable

import pytest

from tests.conftest import CANARY_TOKEN, KEY_CANARY
from tests.usage_data import NOW
from turnmeter import (
    AuthError,
    BudgetGuard,
    CredentialRefused,
    IssuePolicy,
    TurnCredentials,
    TurnmeterError,
    TurnUsage,
)
from turnmeter.sandbox import Fault, Sandbox
from turnmeter.transport.retry import NO_RETRY

CANARIES = (CANARY_TOKEN, KEY_CANARY)


def shown(exc: BaseException) -> list[str]:
    texts = [str(exc), repr(exc), str(exc.__cause__), str(exc.__context__)]
    texts += [repr(detail) for detail in getattr(exc, "errors", ())]
    decision = getattr(exc, "decision", None)
    return [*texts, repr(decision)]


def assert_hidden(texts: list[str]) -> None:
    leaks = [text for text in texts for canary in CANARIES if canary in text]
    assert not leaks


async def test_no_token_in_logs_reprs_or_exceptions(
    key_sandbox: Sandbox,
    analytics: TurnUsage,
    credentials_for: Callable[..., TurnCredentials],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    guard = BudgetGuard(analytics, free_tier_gb=0, clock=lambda: NOW)
    await guard.refresh()
    creds = credentials_for(guard=guard, policy=IssuePolicy(budget_usd=100))
    async with creds:
        key_sandbox.faults.push(Fault.status(503))  # a retry, logged
        servers = await creds.issue(custom_identifier="acme", ttl=60)
        assert servers.username is not None
        await creds.revoke(servers.username)
        texts += [repr(creds), repr(creds.transport), repr(creds.transport.settings)]
        texts += [str(creds.transport.settings), repr(servers), repr(servers.decision)]
        texts += [repr(creds.transport.settings.auth), repr(pickle.loads(pickle.dumps(servers)))]
    async with credentials_for(guard=guard, policy=IssuePolicy(budget_usd=0)) as refusing:
        with pytest.raises(CredentialRefused) as refused:
            await refusing.issue(ttl=60)
    texts += shown(refused.value)
    texts += [record.getMessage() for record in caplog.records]
    texts += [repr(record.__dict__) for record in caplog.records]
    assert any("credentials issue" in text for text in texts)  # the audit line was captured
    assert_hidden(texts)


async def test_a_server_echoing_the_key_token_is_redacted(
    key_sandbox: Sandbox,
    credentials_for: Callable[..., TurnCredentials],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = {"success": False, "errors": [{"code": 10000, "message": f"bad token {KEY_CANARY}"}]}
    key_sandbox.faults.push(Fault.status(401, body=json.dumps(echo)))
    key_sandbox.faults.push(Fault.status(200, body=f"<html>{KEY_CANARY}</html>"))
    async with credentials_for(retry=NO_RETRY) as creds:
        with pytest.raises(AuthError) as auth:
            await creds.issue(ttl=60)
        with pytest.raises(TurnmeterError) as unreadable:
            await creds.issue(ttl=60)
    assert "[redacted]" in str(auth.value)
    assert "[redacted]" in str(unreadable.value)
    assert_hidden(shown(auth.value) + shown(unreadable.value))
    assert_hidden([record.getMessage() for record in caplog.records])


async def test_wrong_key_token_and_unreachable_api_keep_the_token(
    key_sandbox: Sandbox, credentials_for: Callable[..., TurnCredentials]
) -> None:
    async with credentials_for(key_token="wrong-" + KEY_CANARY, retry=NO_RETRY) as creds:
        with pytest.raises(AuthError) as wrong:
            await creds.issue(ttl=60)
    async with credentials_for(endpoint="http://127.0.0.1:9/v1", retry=NO_RETRY) as creds:
        with pytest.raises(TurnmeterError) as unreachable:
            await creds.revoke("abc")
    assert_hidden(shown(wrong.value) + shown(unreachable.value))
