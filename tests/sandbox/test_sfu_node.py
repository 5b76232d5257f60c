"""SFU node: Cloudflare's refusals and limits as on TURN, one rate budget, several accounts,
and synthetic SFU traffic that agrees with the TURN traffic it is derived from."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from tests.sandbox.conftest import SECRET, post
from tests.sandbox.rows import NOW, awkward_rows
from tests.sandbox.sfu_rows import awkward_sfu_rows
from tests.sandbox.test_rejections import WEEK, _assert_refused
from turnmeter.sandbox import NodeLimits, Sandbox, SandboxConfig
from turnmeter.sandbox.sfu import app_id_for, uses_sfu

TAG = SandboxConfig().account_tag
OTHER = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"
FORBIDDEN = "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0"
NODE = """query($tag: string!, $filter: AccountCallsUsageAdaptiveGroupsFilter_InputObject!,
 $limit: uint64!) { viewer { accounts(filter: {accountTag: $tag}) {
 callsUsageAdaptiveGroups(filter: $filter, limit: $limit) { %s } } } }"""
TOTAL = NODE % "sum { egressBytes }"
SETTINGS = """query($tag: string!) { viewer { accounts(filter: {accountTag: $tag}) { settings {
 callsUsageAdaptiveGroups { enabled availableFields maxDuration maxPageSize notOlderThan }
 } } } }"""
PATH = ["viewer", "accounts", 0, "callsUsageAdaptiveGroups"]


@pytest.fixture(scope="module", params=["documented", "always-200"])
async def strict(request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    config = SandboxConfig(
        token=SECRET,
        now=NOW,
        rows=awkward_rows(),
        sfu_rows=awkward_sfu_rows(),
        rate_limit=None,
        error_status=request.param,
        other_accounts=(OTHER,),
        forbidden_accounts=(FORBIDDEN,),
    )
    async with Sandbox(config) as server:
        yield server


def _vars(**changes: Any) -> dict[str, Any]:
    return {"tag": TAG, "filter": WEEK, "limit": 10, **changes}


async def test_settings_entry(http: aiohttp.ClientSession, strict: Sandbox) -> None:
    status, body = await post(http, strict, SETTINGS, {"tag": TAG})
    assert status == 200
    entry = body["data"]["viewer"]["accounts"][0]["settings"]["callsUsageAdaptiveGroups"]
    assert entry["enabled"] is True
    assert entry["maxPageSize"] == 10_000
    assert "dimensions_trackType" in entry["availableFields"]
    assert not any(name.startswith("avg_") for name in entry["availableFields"])


async def test_no_avg_block(http: aiohttp.ClientSession, strict: Sandbox) -> None:
    query = NODE % "avg { concurrentConnectionsHour }"
    status, body = await post(http, strict, query, _vars())
    _assert_refused(strict, status, body, 'unknown field "avg"', 400)


@pytest.mark.parametrize("limit", [10_001, 0])
async def test_limit_out_of_range(http: aiohttp.ClientSession, strict: Sandbox, limit: int) -> None:
    status, body = await post(http, strict, TOTAL, _vars(limit=limit))
    message = "limit must be positive number and not greater than 10000"
    error = _assert_refused(strict, status, body, message, 400)
    assert error["path"] == PATH


async def test_range_too_wide(http: aiohttp.ClientSession, strict: Sandbox) -> None:
    wide = {"datetimeHour_geq": "2025-02-05T11:00:00Z", "datetimeHour_lt": "2025-03-09T12:00:00Z"}
    status, body = await post(http, strict, TOTAL, _vars(filter=wide))
    message = (
        f'account "{TAG}" cannot request a time range wider than 4w3d, '
        "but your query time range spans 4w4d1h"
    )
    error = _assert_refused(strict, status, body, message, 400)
    assert error["extensions"]["code"] == "quota"


async def test_data_too_old(http: aiohttp.ClientSession, strict: Sandbox) -> None:
    old = {"date_geq": "2024-11-28", "date_leq": "2024-12-01"}
    status, body = await post(http, strict, TOTAL, _vars(filter=old))
    message = (
        f'account "{TAG}" cannot request data older than 13w1d, '
        "but your query requests data from 14w3d12h30m ago"
    )
    _assert_refused(strict, status, body, message, 400)


async def test_order_by_a_dimension_not_selected(
    http: aiohttp.ClientSession, strict: Sandbox
) -> None:
    query = TOTAL.replace("limit: $limit", "limit: $limit, orderBy: [appId_ASC]")
    status, body = await post(http, strict, query, _vars())
    message = 'cannot order by "appId": it is not one of the selected dimensions'
    _assert_refused(strict, status, body, message, 400)


async def test_forbidden_and_unknown_accounts_are_refused(
    http: aiohttp.ClientSession, strict: Sandbox
) -> None:
    for tag in (FORBIDDEN, "0" * 32):
        status, body = await post(http, strict, TOTAL, _vars(tag=tag))
        error = _assert_refused(strict, status, body, "not authorized for that account", 403)
        assert error["extensions"]["code"] == "authz"


async def test_other_account_has_its_own_data(http: aiohttp.ClientSession, strict: Sandbox) -> None:
    window = {
        "datetimeMinute_geq": "2025-03-02T12:30:00Z",
        "datetimeMinute_lt": "2025-03-09T12:30:00Z",
    }
    for tag, rows in ((TAG, strict.sfu_rows()), (OTHER, strict.sfu_rows(OTHER))):
        status, body = await post(http, strict, TOTAL, _vars(tag=tag, filter=window))
        assert status == 200, body
        [group] = body["data"]["viewer"]["accounts"][0]["callsUsageAdaptiveGroups"]
        assert group["sum"]["egressBytes"] == sum(r.egress_bytes for r in rows)
    assert strict.rows(OTHER) != strict.rows()
    # the other account's messages name it
    wide = {"datetimeHour_geq": "2025-02-05T11:00:00Z", "datetimeHour_lt": "2025-03-09T12:00:00Z"}
    status, body = await post(http, strict, TOTAL, _vars(tag=OTHER, filter=wide))
    assert f'account "{OTHER}"' in body["errors"][0]["message"]


async def test_a_disabled_sfu_node_leaves_turn_alone(http: aiohttp.ClientSession) -> None:
    config = SandboxConfig(
        token=SECRET, now=NOW, rows=awkward_rows(), sfu_limits=NodeLimits(enabled=False)
    )
    turn = TOTAL.replace("callsUsageAdaptiveGroups", "callsTurnUsageAdaptiveGroups").replace(
        "AccountCallsUsage", "AccountCallsTurnUsage"
    )
    async with Sandbox(config) as sandbox:
        status, body = await post(http, sandbox, TOTAL, _vars())
        message = f'account "{TAG}" does not have access to callsUsageAdaptiveGroups'
        error = _assert_refused(sandbox, status, body, message, 403)
        assert error["extensions"]["code"] == "authz"
        status, body = await post(http, sandbox, turn, _vars())
        assert status == 200
        assert body["errors"] is None


RATE_QUERY = """query($tag: string!,
 $turn: AccountCallsTurnUsageAdaptiveGroupsFilter_InputObject!,
 $sfu: AccountCallsUsageAdaptiveGroupsFilter_InputObject!) { cost viewer {
 budget accounts(filter: {accountTag: $tag}) {
  a: callsTurnUsageAdaptiveGroups(filter: $turn, limit: 1) { sum { egressBytes } }
  b: callsUsageAdaptiveGroups(filter: $sfu, limit: 1) { sum { egressBytes } }
  c: callsUsageAdaptiveGroups(filter: $sfu, limit: 1) { sum { ingressBytes } } } } }"""


async def test_every_sfu_node_costs_one_query_of_the_tokens_budget(
    http: aiohttp.ClientSession,
) -> None:
    config = SandboxConfig(
        token=SECRET, now=NOW, rows=awkward_rows(), rate_limit=7, other_accounts=(OTHER,)
    )
    async with Sandbox(config) as sandbox:
        status, first = await post(
            http, sandbox, RATE_QUERY, {"tag": TAG, "turn": WEEK, "sfu": WEEK}
        )
        assert status == 200, first
        assert first["data"]["cost"] == 3
        assert first["data"]["viewer"]["budget"] == 4
        # another account draws on the same budget: it belongs to the token
        _, second = await post(http, sandbox, RATE_QUERY, {"tag": OTHER, "turn": WEEK, "sfu": WEEK})
        assert second["data"]["viewer"]["budget"] == 1
        status, _ = await post(http, sandbox, TOTAL, _vars())
        assert status == 200
        status, fourth = await post(http, sandbox, TOTAL, _vars())
        assert status == 429
        assert fourth["errors"][0]["message"].startswith("rate limiter budget depleted")


async def test_synthetic_sfu_agrees_with_turn(synthetic: Sandbox) -> None:
    turn, sfu = synthetic.rows(), synthetic.sfu_rows()
    assert sfu
    apps = {app_id_for(row.key_id) for row in turn}
    assert {row.app_id for row in sfu} <= apps
    turn_minutes = {
        (row.minute, app_id_for(row.key_id)) for row in turn if uses_sfu(row.custom_identifier)
    }
    assert {(row.minute, row.app_id) for row in sfu} == turn_minutes
    tracks: dict[str, set[str]] = defaultdict(set)
    for row in sfu:
        tracks[row.session_id].add(row.track_type)
    assert set(map(frozenset, tracks.values())) == {frozenset({"audio", "video"})}
    # forwarded media: the SFU sends on what TURN clients sent it, never more
    relayed = sum(r.ingress_bytes for r in turn if uses_sfu(r.custom_identifier))
    assert 0 < sum(r.egress_bytes for r in sfu) <= relayed
    assert any(not uses_sfu(r.custom_identifier) for r in turn)  # some customers are TURN only


async def test_late_sfu_rows_appear_in_one_piece(http: aiohttp.ClientSession) -> None:
    config = SandboxConfig(token=SECRET, now=NOW, rows=awkward_rows(), sfu_rows=[])
    async with Sandbox(config) as sandbox:
        _, body = await post(http, sandbox, TOTAL, _vars())
        assert body["data"]["viewer"]["accounts"][0]["callsUsageAdaptiveGroups"] == []
        late = awkward_sfu_rows()[:5]
        assert sandbox.add_sfu_rows(late) == 5
        _, body = await post(http, sandbox, TOTAL, _vars())
        [group] = body["data"]["viewer"]["accounts"][0]["callsUsageAdaptiveGroups"]
        week_start = datetime(2025, 3, 2, 12, 30, tzinfo=UTC)
        in_week = [r for r in late if r.minute >= week_start]
        assert group["sum"]["egressBytes"] == sum(r.egress_bytes for r in in_week)
