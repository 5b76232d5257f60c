"""Failures reach the caller as the right turnmeter exception, and never carry the token."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from tests.conftest import CANARY_TOKEN
from tests.usage_data import NOW
from turnmeter import (
    AuthError,
    GraphQLErrors,
    InvalidQuery,
    LimitExceeded,
    MalformedResponse,
    RateLimited,
    TransportError,
    TurnmeterError,
    TurnUsage,
    UnreadableBody,
)
from turnmeter.sandbox import Fault, Sandbox
from turnmeter.transport.retry import NO_RETRY

SINCE = NOW - timedelta(days=1)


def client_for(sandbox: Sandbox, **overrides: str) -> TurnUsage:
    """A client without retries, so that one injected fault reaches the caller."""
    settings = {
        "account_tag": sandbox.config.account_tag,
        "api_token": sandbox.config.token,
        "endpoint": sandbox.url,
    } | overrides
    return TurnUsage(**settings, retry=NO_RETRY)


def assert_no_canary(exc: BaseException) -> None:
    seen = [str(exc), repr(exc), str(getattr(exc, "__cause__", ""))]
    seen += [repr(detail) for detail in getattr(exc, "errors", ())]
    assert not any(CANARY_TOKEN in text for text in seen)


async def test_wrong_token_is_an_auth_error_with_status_401(sandbox: Sandbox) -> None:
    async with client_for(sandbox, api_token="not-the-token") as turn:
        with pytest.raises(AuthError, match="Unauthorized") as caught:
            await turn.total(SINCE, NOW)
    assert caught.value.status == 401


async def test_other_account_is_an_auth_error(sandbox: Sandbox) -> None:
    async with client_for(sandbox, account_tag="0" * 32) as turn:
        with pytest.raises(AuthError, match="not authorized for that account") as caught:
            await turn.top_keys(SINCE, NOW)
    assert caught.value.errors[0].code == "authz"
    assert_no_canary(caught.value)


async def test_http_200_with_errors_is_an_error(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.faults.push(
        Fault.graphql_error("rate limiter budget depleted, try again after 5 minutes", status=200)
    )
    async with client_for(fresh_sandbox) as turn:
        with pytest.raises(RateLimited) as caught:
            await turn.total(SINCE, NOW)
    assert caught.value.status == 200
    assert caught.value.retry_after == 300
    assert_no_canary(caught.value)


async def test_server_limit_errors_are_limit_exceeded(turn: TurnUsage) -> None:
    with pytest.raises(LimitExceeded, match="wider than"):
        await turn.total(NOW - timedelta(days=40), NOW)
    with pytest.raises(LimitExceeded, match="not greater than 10000"):
        await turn.top_keys(SINCE, NOW, limit=10_001)


async def test_non_json_body_is_unreadable(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.faults.push(Fault.html())
    async with client_for(fresh_sandbox) as turn:
        with pytest.raises(TurnmeterError) as caught:
            await turn.total(SINCE, NOW)
    assert isinstance(caught.value, UnreadableBody | GraphQLErrors)
    assert_no_canary(caught.value)


async def test_truncated_body_is_a_turnmeter_error(fresh_sandbox: Sandbox) -> None:
    fresh_sandbox.faults.push(Fault.truncated())
    async with client_for(fresh_sandbox) as turn:
        with pytest.raises((UnreadableBody, TransportError)):
            await turn.top_keys(SINCE, NOW)


async def test_connection_refused_is_a_transport_error() -> None:
    async with TurnUsage(
        account_tag="abc",
        api_token=CANARY_TOKEN,
        endpoint="http://127.0.0.1:9/graphql",
        retry=NO_RETRY,
    ) as turn:
        with pytest.raises(TransportError) as caught:
            await turn.total(SINCE, NOW)
    assert_no_canary(caught.value)


async def test_wrong_value_types_are_malformed(fresh_sandbox: Sandbox) -> None:
    body = (
        '{"data":{"viewer":{"accounts":[{"callsTurnUsageAdaptiveGroups":'
        '[{"sum":{"egressBytes":"lots","ingressBytes":1}}]}]}}}'
    )
    fresh_sandbox.faults.push(Fault.status(200, body=body))
    async with client_for(fresh_sandbox) as turn:
        with pytest.raises(MalformedResponse, match="egressBytes"):
            await turn.total(SINCE, NOW)


async def test_invalid_query_is_rejected_by_the_server(turn: TurnUsage) -> None:
    query = """query Bad($accountTag: string!, $since: Time!) {
      viewer { accounts(filter: {accountTag: $accountTag}) {
        callsTurnUsageAdaptiveGroups(filter: {datetime_geq: $since}, limit: 1) {
          sum { egressBytes }
        }
      } } }"""
    with pytest.raises(InvalidQuery, match="datetime_geq"):
        await turn.transport.execute(
            query, "Bad", {"accountTag": turn.settings.account_tag, "since": "2024-08-01T00:00:00Z"}
        )


async def test_token_never_in_reprs_or_logs(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with client_for(sandbox) as turn:
        await turn.top_keys(SINCE, NOW)
        texts = [repr(turn), repr(turn.settings), repr(turn.transport), str(turn.settings)]
    texts += [record.getMessage() for record in caplog.records]
    assert not any(CANARY_TOKEN in text for text in texts)
