"""Every fault kind, observed the way a client sees it: over raw aiohttp."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.sandbox.conftest import SECRET, post
from tests.sandbox.rows import NOW, awkward_rows
from turnmeter.sandbox import Fault, Sandbox, SandboxConfig

QUERY = """query($tag: string!) { viewer { accounts(filter: {accountTag: $tag}) {
 callsTurnUsageAdaptiveGroups(filter: {datetimeMinute_geq: "2025-03-08T12:00:00Z"}, limit: 3)
 { dimensions { keyId } sum { egressBytes } } } } }"""


@pytest.fixture(scope="module")
async def faulty() -> AsyncIterator[Sandbox]:
    config = SandboxConfig(token=SECRET, now=NOW, rows=awkward_rows(), rate_limit=None)
    async with Sandbox(config) as server:
        yield server


@pytest.fixture
async def sandbox(faulty: Sandbox) -> AsyncIterator[Sandbox]:
    faulty.faults.clear()
    yield faulty
    faulty.faults.clear()


async def _raw(http: aiohttp.ClientSession, sandbox: Sandbox) -> tuple[int, str, str]:
    """(status, content type, body text) of one plain request."""
    payload = {"query": QUERY, "variables": {"tag": sandbox.config.account_tag}}
    headers = {"Authorization": f"Bearer {SECRET}"}
    async with http.post(sandbox.url, json=payload, headers=headers) as response:
        return response.status, response.content_type, await response.text()


async def _fine(http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    status, body = await post(http, sandbox, QUERY, {"tag": sandbox.config.account_tag})
    assert status == 200
    assert body["errors"] is None


async def test_status_503_sends_cloudflare_overload_json(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    sandbox.faults.push(Fault.status(503))
    status, kind, text = await _raw(http, sandbox)
    assert (status, kind) == (503, "application/json")
    body = json.loads(text)
    assert body["data"] is None
    assert body["errors"][0]["message"] == "too many queries in progress, please try again later"
    await _fine(http, sandbox)  # consumed: the next request is answered


async def test_status_with_custom_body(http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    sandbox.faults.push(Fault.status(500, body="upstream exploded"))
    assert await _raw(http, sandbox) == (500, "text/plain", "upstream exploded")


async def test_connection_reset(http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    sandbox.faults.push(Fault.reset())
    with pytest.raises(aiohttp.ClientConnectionError):
        await _raw(http, sandbox)
    await _fine(http, sandbox)


async def test_truncated_body(http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    sandbox.faults.push(Fault.truncated())
    with pytest.raises(aiohttp.ClientPayloadError):
        await _raw(http, sandbox)
    await _fine(http, sandbox)


async def test_html_error_page(http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    sandbox.faults.push(Fault.html())
    status, kind, text = await _raw(http, sandbox)
    assert (status, kind) == (502, "text/html")
    assert text.lstrip().startswith("<!DOCTYPE html>")
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


async def test_not_json_with_status_200(http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    sandbox.faults.push(Fault.not_json())
    status, kind, text = await _raw(http, sandbox)
    assert (status, kind) == (200, "text/plain")
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


async def test_graphql_error_with_code_and_status(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    sandbox.faults.push(Fault.graphql_error("Internal server error", code="x1", status=200))
    status, _, text = await _raw(http, sandbox)
    error: dict[str, Any] = json.loads(text)["errors"][0]
    assert status == 200
    assert error["message"] == "Internal server error"
    assert error["extensions"]["code"] == "x1"


async def test_delay_past_a_client_timeout(http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    sandbox.faults.push(Fault.delay(0.5))
    payload = {"query": QUERY, "variables": {"tag": sandbox.config.account_tag}}
    headers = {"Authorization": f"Bearer {SECRET}"}
    with pytest.raises(asyncio.TimeoutError):
        async with http.post(
            sandbox.url, json=payload, headers=headers, timeout=aiohttp.ClientTimeout(total=0.05)
        ) as response:
            await response.read()


async def test_short_delay_then_normal_answer(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    sandbox.faults.push(Fault.delay(0.01))
    await _fine(http, sandbox)
    assert len(sandbox.faults) == 0


async def test_fail_twice_then_answer(http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    sandbox.faults.push(Fault.status(503), Fault.reset())
    assert (await _raw(http, sandbox))[0] == 503
    with pytest.raises(aiohttp.ClientConnectionError):
        await _raw(http, sandbox)
    await _fine(http, sandbox)


async def test_control_api_scripts_faults_from_outside(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    control = sandbox.url.replace("/graphql", "/__sandbox/faults")
    script = {"faults": [{"kind": "status", "status": 429}, {"kind": "html"}]}
    headers = {"Authorization": f"Bearer {SECRET}"}
    async with http.post(control, json=script, headers=headers) as response:
        listed = await response.json()
    assert [f["kind"] for f in listed["pending"]] == ["status", "html"]
    assert (await _raw(http, sandbox))[0] == 429
    async with http.delete(control, headers=headers) as response:
        assert (await response.json())["pending"] == []
    await _fine(http, sandbox)


async def test_control_api_rejects_unknown_kind(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    control = sandbox.url.replace("/graphql", "/__sandbox/faults")
    headers = {"Authorization": f"Bearer {SECRET}"}
    async with http.post(control, json={"kind": "meteor"}, headers=headers) as response:
        assert response.status == 400
    assert len(sandbox.faults) == 0


def test_fault_json_round_trip() -> None:
    for fault in (
        Fault.status(503, body="x"),
        Fault.reset(),
        Fault.truncated(),
        Fault.html(504),
        Fault.not_json(),
        Fault.delay(0.5),
        Fault.graphql_error("boom", code="c", status=500),
    ):
        assert Fault.from_json(fault.to_json()) == fault
