"""Queries Cloudflare would reject get Cloudflare's wording, shape and status (both modes)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.sandbox.conftest import SECRET, post
from tests.sandbox.rows import NOW, awkward_rows
from turnmeter.sandbox import NodeLimits, Sandbox, SandboxConfig

TAG = SandboxConfig().account_tag
NODE = """query($tag: string!, $filter: AccountCallsTurnUsageAdaptiveGroupsFilter_InputObject!,
 $limit: uint64!) { viewer { accounts(filter: {accountTag: $tag}) {
 callsTurnUsageAdaptiveGroups(filter: $filter, limit: $limit) { %s } } } }"""
TOTAL = NODE % "sum { egressBytes }"
WEEK = {"datetimeMinute_geq": "2025-03-02T12:30:00Z", "datetimeMinute_lt": "2025-03-09T12:30:00Z"}
STATUS = {"documented": None, "always-200": 200}


@pytest.fixture(scope="module", params=["documented", "always-200"])
async def strict(request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    config = SandboxConfig(
        token=SECRET, now=NOW, rows=awkward_rows(), rate_limit=None, error_status=request.param
    )
    async with Sandbox(config) as server:
        yield server


def _variables(**changes: Any) -> dict[str, Any]:
    return {"tag": TAG, "filter": WEEK, "limit": 10, **changes}


def _assert_refused(
    sandbox: Sandbox, status: int, body: dict[str, Any], message: str, documented: int
) -> dict[str, Any]:
    expected_status = 200 if sandbox.config.error_status == "always-200" else documented
    assert status == expected_status
    assert body["data"] is None
    [error] = body["errors"]
    assert error["message"] == message
    assert "path" in error
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", error["extensions"]["timestamp"])
    assert SECRET not in str(body)
    return dict(error)


async def test_unknown_dimension_field(http: aiohttp.ClientSession, strict: Sandbox) -> None:
    query = NODE % "dimensions { datetime } sum { egressBytes }"
    status, body = await post(http, strict, query, _variables())
    error = _assert_refused(strict, status, body, 'unknown field "datetime"', 400)
    assert error["path"] is None


async def test_unknown_filter_key_in_variables(
    http: aiohttp.ClientSession, strict: Sandbox
) -> None:
    variables = _variables(filter={"datetime_geq": "2025-03-09T00:00:00Z"})
    status, body = await post(http, strict, TOTAL, variables)
    _assert_refused(strict, status, body, 'unknown field "datetime_geq"', 400)


async def test_unknown_filter_key_in_query_text(
    http: aiohttp.ClientSession, strict: Sandbox
) -> None:
    query = TOTAL.replace("filter: $filter", "filter: {AND: [$filter], datetime_geq: $tag}")
    status, body = await post(http, strict, query, _variables())
    _assert_refused(strict, status, body, 'unknown field "datetime_geq"', 400)


async def test_unknown_argument(http: aiohttp.ClientSession, strict: Sandbox) -> None:
    query = TOTAL.replace("limit: $limit", "limit: $limit, offset: 5")
    status, body = await post(http, strict, query, _variables())
    message = 'error parsing args for "callsTurnUsageAdaptiveGroups": unexpected args'
    _assert_refused(strict, status, body, message, 400)


@pytest.mark.parametrize(
    ("declared", "mentions"), [("String!", "String!"), ("DateTime!", "DateTime")]
)
async def test_wrong_scalar_in_variable_declaration(
    http: aiohttp.ClientSession, strict: Sandbox, declared: str, mentions: str
) -> None:
    query = (
        f"query($tag: string!, $since: {declared}) {{ viewer {{ accounts(filter: "
        "{accountTag: $tag}) { callsTurnUsageAdaptiveGroups(filter: {datetimeMinute_geq: $since},"
        " limit: 1) { sum { egressBytes } } } } }"
    )
    status, body = await post(http, strict, query, {"tag": TAG, "since": "2025-03-09T00:00:00Z"})
    expected = 200 if strict.config.error_status == "always-200" else 400
    assert status == expected
    assert body["data"] is None
    assert mentions in body["errors"][0]["message"]


@pytest.mark.parametrize("limit", [10_001, 0])
async def test_limit_out_of_range(http: aiohttp.ClientSession, strict: Sandbox, limit: int) -> None:
    status, body = await post(http, strict, TOTAL, _variables(limit=limit))
    message = "limit must be positive number and not greater than 10000"
    error = _assert_refused(strict, status, body, message, 400)
    assert error["path"] == ["viewer", "accounts", 0, "callsTurnUsageAdaptiveGroups"]


async def test_range_too_wide(http: aiohttp.ClientSession, strict: Sandbox) -> None:
    wide = {"datetimeHour_geq": "2025-02-05T11:00:00Z", "datetimeHour_lt": "2025-03-09T12:00:00Z"}
    status, body = await post(http, strict, TOTAL, _variables(filter=wide))
    message = (
        f'account "{TAG}" cannot request a time range wider than 4w3d, '
        "but your query time range spans 4w4d1h"
    )
    error = _assert_refused(strict, status, body, message, 400)
    assert error["extensions"]["code"] == "quota"


async def test_no_time_bounds_spans_the_whole_retention(
    http: aiohttp.ClientSession, strict: Sandbox
) -> None:
    status, body = await post(http, strict, TOTAL, _variables(filter={"keyId": "k3"}))
    message = (
        f'account "{TAG}" cannot request a time range wider than 4w3d, '
        "but your query time range spans 13w1d"
    )
    _assert_refused(strict, status, body, message, 400)


async def test_data_too_old(http: aiohttp.ClientSession, strict: Sandbox) -> None:
    old = {"date_geq": "2024-11-28", "date_leq": "2024-12-01"}
    status, body = await post(http, strict, TOTAL, _variables(filter=old))
    message = (
        f'account "{TAG}" cannot request data older than 13w1d, '
        "but your query requests data from 14w3d12h30m ago"
    )
    _assert_refused(strict, status, body, message, 400)


@pytest.mark.parametrize("token", [None, "wrong-token", ""])
async def test_bad_token(http: aiohttp.ClientSession, strict: Sandbox, token: str | None) -> None:
    status, body = await post(http, strict, TOTAL, _variables(), token=token)
    error = _assert_refused(strict, status, body, "Unauthorized", 401)
    assert error["path"] is None


async def test_other_account(http: aiohttp.ClientSession, strict: Sandbox) -> None:
    status, body = await post(http, strict, TOTAL, _variables(tag="0" * 32))
    error = _assert_refused(strict, status, body, "not authorized for that account", 403)
    assert error["extensions"]["code"] == "authz"
    assert error["path"] == ["viewer", "accounts"]


async def test_order_by_a_dimension_not_selected(
    http: aiohttp.ClientSession, strict: Sandbox
) -> None:
    query = TOTAL.replace("limit: $limit", "limit: $limit, orderBy: [keyId_ASC]")
    status, body = await post(http, strict, query, _variables())
    message = 'cannot order by "keyId": it is not one of the selected dimensions'
    _assert_refused(strict, status, body, message, 400)


async def test_bad_time_value(http: aiohttp.ClientSession, strict: Sandbox) -> None:
    variables = _variables(filter={"datetimeMinute_geq": "2025-03-09 12:00"})
    status, body = await post(http, strict, TOTAL, variables)
    expected = 200 if strict.config.error_status == "always-200" else 400
    assert status == expected
    assert "expected RFC 3339 like 2024-07-15T02:07:07Z" in body["errors"][0]["message"]


async def test_too_many_fields(http: aiohttp.ClientSession) -> None:
    config = SandboxConfig(
        token=SECRET, now=NOW, rows=awkward_rows(), limits=NodeLimits(max_number_of_fields=2)
    )
    query = NODE % "dimensions { keyId username } sum { egressBytes }"
    async with Sandbox(config) as sandbox:
        status, body = await post(http, sandbox, query, _variables())
    _assert_refused(sandbox, status, body, "number of fields can't be more than 2", 400)


RATE_QUERY = """query($tag: string!,
 $filter: AccountCallsTurnUsageAdaptiveGroupsFilter_InputObject!) { cost viewer {
 budget accounts(filter: {accountTag: $tag}) {
  a: callsTurnUsageAdaptiveGroups(filter: $filter, limit: 1) { sum { egressBytes } }
  b: callsTurnUsageAdaptiveGroups(filter: $filter, limit: 1) { sum { ingressBytes } } } } }"""


@pytest.mark.parametrize("mode", ["documented", "always-200"])
async def test_rate_limit_counts_every_turn_node(http: aiohttp.ClientSession, mode: str) -> None:
    config = SandboxConfig(
        token=SECRET,
        now=NOW,
        rows=awkward_rows(),
        rate_limit=5,
        error_status=mode,  # type: ignore[arg-type]
    )
    variables = {"tag": TAG, "filter": WEEK}
    async with Sandbox(config) as sandbox:
        status, first = await post(http, sandbox, RATE_QUERY, variables)
        assert status == 200
        assert first["data"]["cost"] == 2
        assert first["data"]["viewer"]["budget"] == 3
        _, second = await post(http, sandbox, RATE_QUERY, variables)
        assert second["data"]["viewer"]["budget"] == 1
        status, third = await post(http, sandbox, RATE_QUERY, variables)
        message = "rate limiter budget depleted, try again after 5 minutes"
        error = _assert_refused(sandbox, status, third, message, 429)
        assert "code" not in error["extensions"]
        headers = {"X-Rate-Limit-Type": "account-based"}
        status, fourth = await post(http, sandbox, RATE_QUERY, variables, headers=headers)
        error = _assert_refused(sandbox, status, fourth, message, 429)
        assert error["extensions"]["code"] == "budget"
        sandbox.reset_budget()
        status, _ = await post(http, sandbox, RATE_QUERY, variables)
        assert status == 200
