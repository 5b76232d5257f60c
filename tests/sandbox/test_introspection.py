"""Introspection over POST and GET: GraphQL tools (and `schema pull`) can read the sandbox."""

from __future__ import annotations

import json

import aiohttp
from graphql import build_client_schema, get_introspection_query, print_schema

from tests.sandbox.conftest import SECRET, post
from turnmeter.resources import schema_text
from turnmeter.sandbox import Sandbox


def _same_sdl(introspected: dict[str, object]) -> None:
    served = print_schema(build_client_schema(introspected))  # type: ignore[arg-type]
    from graphql import build_schema

    committed = print_schema(build_schema(schema_text()))
    assert served == committed


async def test_introspection_over_post(http: aiohttp.ClientSession, awkward: Sandbox) -> None:
    status, body = await post(http, awkward, get_introspection_query())
    assert status == 200
    assert body["errors"] is None
    _same_sdl(body["data"])


async def test_introspection_over_get(http: aiohttp.ClientSession, awkward: Sandbox) -> None:
    params = {"query": get_introspection_query(), "variables": json.dumps({})}
    headers = {"Authorization": f"Bearer {SECRET}"}
    async with http.get(awkward.url, params=params, headers=headers) as response:
        assert response.status == 200
        body = await response.json()
    _same_sdl(body["data"])


async def test_settings_answer_from_node_limits(
    http: aiohttp.ClientSession, awkward: Sandbox
) -> None:
    query = """query($tag: string!) { viewer { accounts(filter: {accountTag: $tag}) {
      settings { callsTurnUsageAdaptiveGroups { enabled availableFields maxDuration
      maxNumberOfFields maxPageSize notOlderThan } } } } }"""
    _, body = await post(http, awkward, query, {"tag": awkward.config.account_tag})
    settings = body["data"]["viewer"]["accounts"][0]["settings"]["callsTurnUsageAdaptiveGroups"]
    assert settings["maxPageSize"] == 10_000
    assert settings["maxDuration"] == 31 * 86400
    assert settings["notOlderThan"] == 92 * 86400
    assert settings["maxNumberOfFields"] == 30
    assert settings["enabled"] is True
    # Cloudflare joins a nested field to its parent with "_" ("sum_requests" in its docs)
    assert "dimensions_customIdentifier" in settings["availableFields"]
    assert "sum_egressBytes" in settings["availableFields"]
    assert "avg_concurrentConnectionsHour" in settings["availableFields"]
    assert not [name for name in settings["availableFields"] if "." in name]
