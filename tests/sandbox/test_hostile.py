"""Hostile requests: every answer is Cloudflare-shaped JSON, and no request stalls the server.

The sandbox is a product that users point their own tests at, so it has to survive what those
tests throw at it: bodies nested a thousand levels deep, megabyte queries, wrong methods, broken
request lines. Each is sent over real loopback HTTP.
"""

from __future__ import annotations

import asyncio
import io
import json
import socket
import sys
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from tests.sandbox import brute
from tests.sandbox.conftest import SECRET, post
from turnmeter.sandbox import Sandbox
from turnmeter.sandbox.guards import (
    MAX_LIST_ITEMS,
    MAX_NESTING_DEPTH,
    MAX_QUERY_LENGTH,
    MAX_QUERY_TOKENS,
)

AUTH = {"Authorization": f"Bearer {SECRET}"}
WINDOW = '{datetimeMinute_geq: "2025-03-07T12:30:00Z"}'
NODE = """query($tag: string!, $f: AccountCallsTurnUsageAdaptiveGroupsFilter_InputObject!) {
 viewer { accounts(filter: {accountTag: $tag}) {
 callsTurnUsageAdaptiveGroups(filter: $f, limit: 10000) { sum { egressBytes } } } } }"""
LITERAL = """query($tag: string!) { viewer { accounts(filter: {accountTag: $tag}) {
 callsTurnUsageAdaptiveGroups(filter: %s, limit: 10) { sum { egressBytes } } } } }"""


def _assert_json_error(status: int, kind: str, text: str, expected: int) -> dict[str, Any]:
    """The answer is Cloudflare's error shape with status ``expected``; return the error."""
    assert (status, kind) == (expected, "application/json"), text[:300]
    body = json.loads(text)
    assert body["data"] is None
    [error] = body["errors"]
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["extensions"]["code"], str)
    assert SECRET not in text
    return dict(error)


async def _send(
    http: aiohttp.ClientSession, sandbox: Sandbox, data: bytes, *, method: str = "POST"
) -> tuple[int, str, str]:
    headers = {**AUTH, "Content-Type": "application/json"}
    # a file-like payload: aiohttp warns about raw bytes over 1 MiB
    body = io.BytesIO(data)
    async with http.request(method, sandbox.url, data=body, headers=headers) as response:
        return response.status, response.content_type, await response.text()


def _deep_filter_body(tag: str, levels: int) -> bytes:
    """A request whose filter variable is ``levels`` ``AND`` wrappers deep, built as text
    (json.dumps itself gives up around a thousand levels)."""
    inner = json.dumps({"datetimeMinute_geq": "2025-03-07T12:30:00Z"})
    deep = '{"AND": [' * levels + inner + "]}" * levels
    query = json.dumps(NODE)
    return f'{{"query": {query}, "variables": {{"tag": "{tag}", "f": {deep}}}}}'.encode()


async def _raw_http(sandbox: Sandbox, request: bytes) -> tuple[int, str, str]:
    """Send bytes on a fresh connection; the status, content type and body of the answer."""
    reader, writer = await asyncio.open_connection(sandbox.host, sandbox.port)
    try:
        writer.write(request)
        await writer.drain()
        answer = await reader.read()  # error answers close the connection
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    kind = headers.get("Content-Type", "").split(";")[0]
    return int(lines[0].split()[1]), kind, body.decode()


# --- 1. nesting depth ---------------------------------------------------------------------


async def test_body_nested_a_thousand_levels_is_refused_as_json(
    http: aiohttp.ClientSession, awkward: Sandbox
) -> None:
    deep = "[" * 1000 + "1" + "]" * 1000
    data = f'{{"query": "{{ cost }}", "variables": {{"x": {deep}}}}}'.encode()
    error = _assert_json_error(*await _send(http, awkward, data), 400)
    assert str(MAX_NESTING_DEPTH) in error["message"]


async def test_filter_variable_nested_past_python_recursion_is_refused(
    http: aiohttp.ClientSession, awkward: Sandbox
) -> None:
    data = _deep_filter_body(awkward.config.account_tag, 600)
    _assert_json_error(*await _send(http, awkward, data), 400)


async def test_filter_in_query_text_nested_deep_is_refused(
    http: aiohttp.ClientSession, awkward: Sandbox
) -> None:
    text = "{AND: [" * 600 + WINDOW + "]}" * 600
    payload = {"query": LITERAL % text, "variables": {"tag": awkward.config.account_tag}}
    error = _assert_json_error(*await _send(http, awkward, json.dumps(payload).encode()), 400)
    assert str(MAX_NESTING_DEPTH) in error["message"]


async def test_deep_variables_over_get_are_refused(
    http: aiohttp.ClientSession, awkward: Sandbox
) -> None:
    variables = '{"x": ' + "[" * 600 + "]" * 600 + "}"
    url = f"{awkward.url}?query={quote('{ cost }')}&variables={quote(variables)}"
    async with http.get(url, headers=AUTH) as response:
        answer = response.status, response.content_type, await response.text()
    _assert_json_error(*answer, 400)


async def test_filter_at_the_depth_limit_is_answered(
    http: aiohttp.ClientSession, awkward: Sandbox
) -> None:
    # the body object, "variables" and "f" are three levels; each AND wrapper adds two
    levels = (MAX_NESTING_DEPTH - 3) // 2
    data = _deep_filter_body(awkward.config.account_tag, levels)
    status, _, text = await _send(http, awkward, data)
    assert status == 200, text[:300]
    assert json.loads(text)["errors"] is None
    too_deep = _deep_filter_body(awkward.config.account_tag, levels + 1)
    _assert_json_error(*await _send(http, awkward, too_deep), 400)


async def test_query_text_at_the_depth_limit_is_parsed(
    http: aiohttp.ClientSession, awkward: Sandbox
) -> None:
    # query { viewer { accounts ( { ... } ) { node ( filter: ...  -- depth of the text around it
    around = LITERAL.split("%s")[0]
    opened = sum(around.count(c) for c in "{[(") - sum(around.count(c) for c in "}])")
    levels = (MAX_NESTING_DEPTH - opened - 1) // 2
    text = "{AND: [" * levels + WINDOW + "]}" * levels
    payload = {"query": LITERAL % text, "variables": {"tag": awkward.config.account_tag}}
    status, _, answer = await _send(http, awkward, json.dumps(payload).encode())
    assert status == 200, answer[:300]


# --- aiohttp's own refusals ---------------------------------------------------------------


async def test_oversized_body_is_413_json(http: aiohttp.ClientSession, awkward: Sandbox) -> None:
    data = b'{"query": "' + b" " * (2 * 1024 * 1024) + b'{ cost }"}'
    _assert_json_error(*await _send(http, awkward, data), 413)


async def test_wrong_method_is_405_json(http: aiohttp.ClientSession, awkward: Sandbox) -> None:
    _assert_json_error(*await _send(http, awkward, b"{}", method="PUT"), 405)


async def test_unknown_path_is_404_json(http: aiohttp.ClientSession, awkward: Sandbox) -> None:
    async with http.get(awkward.url.replace("/graphql", "/nope"), headers=AUTH) as response:
        answer = response.status, response.content_type, await response.text()
    _assert_json_error(*answer, 404)


async def test_too_long_request_line_is_json(awkward: Sandbox) -> None:
    target = "/graphql?query=" + "x" * 20_000
    request = f"GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()
    _assert_json_error(*await _raw_http(awkward, request), 400)


async def test_garbage_request_line_is_json(awkward: Sandbox) -> None:
    _assert_json_error(*await _raw_http(awkward, b"NOT HTTP AT ALL\r\n\r\n"), 400)


#: How a served sandbox is started: the library's run_app, and `turnmeter sandbox serve`.
SERVE_SCRIPTS = {
    "run_app": (
        "from turnmeter.sandbox.server import build_app, run_app; "
        "from turnmeter.sandbox import SandboxConfig; "
        "run_app(build_app(SandboxConfig(days=1, customers=2)), port={port})"
    ),
    "cli": (
        "import sys; from turnmeter.cli import main; "
        "sys.exit(main(['sandbox', 'serve', '--port', '{port}', '--days', '1', "
        "'--customers', '2']))"
    ),
}


@pytest.mark.parametrize("how", sorted(SERVE_SCRIPTS))
async def test_served_sandbox_answers_unparseable_requests_with_json(
    http: aiohttp.ClientSession, how: str
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    script = SERVE_SCRIPTS[how].replace("{port}", str(port))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stderr=asyncio.subprocess.PIPE
    )
    try:
        server = Sandbox(port=port)  # only for its host and port: never started
        health = f"http://127.0.0.1:{port}/__sandbox/health"
        for _ in range(400):  # until the subprocess has bound its socket
            try:
                async with http.get(health) as response:
                    assert response.status == 200
                break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
        _assert_json_error(*await _raw_http(server, b"NOT HTTP AT ALL\r\n\r\n"), 400)
    finally:
        process.terminate()
        await process.communicate()
    assert process.returncode == 0  # SIGTERM stops it cleanly


# --- 2. query size: the event loop stays free ---------------------------------------------


async def test_megabyte_query_is_refused_while_health_answers(
    http: aiohttp.ClientSession, awkward: Sandbox
) -> None:
    values = " ".join(f'"customer-{i:05d}"' for i in range(55_000))
    text = '{datetimeMinute_geq: "2025-03-07T12:30:00Z", customIdentifier_in: [' + values + "]}"
    payload = {"query": LITERAL % text, "variables": {"tag": awkward.config.account_tag}}
    data = json.dumps(payload).encode()
    assert 1_000_000 < len(data) < 1024 * 1024  # under the body limit: the query limit decides
    health = awkward.url.replace("/graphql", "/__sandbox/health")

    async def probe() -> int:
        async with http.get(health) as response:
            return response.status

    big, probed = await asyncio.gather(_send(http, awkward, data), probe())
    assert probed == 200
    error = _assert_json_error(*big, 400)
    assert f"{MAX_QUERY_LENGTH:,}" in error["message"]


async def test_query_with_too_many_tokens_is_refused(
    http: aiohttp.ClientSession, awkward: Sandbox
) -> None:
    values = " ".join("1" for _ in range(MAX_QUERY_TOKENS))
    text = '{datetimeMinute_geq: "2025-03-07T12:30:00Z", customIdentifier_in: [' + values + "]}"
    assert len(LITERAL % text) < MAX_QUERY_LENGTH
    payload = {"query": LITERAL % text, "variables": {"tag": awkward.config.account_tag}}
    error = _assert_json_error(*await _send(http, awkward, json.dumps(payload).encode()), 400)
    assert "tokens" in error["message"]


def _list_filter(count: int) -> dict[str, Any]:
    return {"datetimeMinute_geq": "2025-03-07T12:30:00Z", "customIdentifier_in": ["x"] * count}


async def test_variable_list_over_the_limit_is_refused(
    http: aiohttp.ClientSession, awkward: Sandbox
) -> None:
    variables = {"tag": awkward.config.account_tag, "f": _list_filter(MAX_LIST_ITEMS + 1)}
    data = json.dumps({"query": NODE, "variables": variables}).encode()
    error = _assert_json_error(*await _send(http, awkward, data), 400)
    assert f"{MAX_LIST_ITEMS:,}" in error["message"]


async def test_variable_list_at_the_limit_is_answered(
    http: aiohttp.ClientSession, awkward: Sandbox
) -> None:
    variables = {"tag": awkward.config.account_tag, "f": _list_filter(MAX_LIST_ITEMS)}
    status, body = await post(http, awkward, NODE, variables)
    assert status == 200, body
    assert body["errors"] is None


# --- 4. NUL in LIKE patterns --------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["tango\x00zzz", "tango\x00", "\x00", "%\x00%", "tan\x00%"])
@pytest.mark.parametrize("operator", ["like", "notlike"])
async def test_nul_in_a_like_pattern_is_matched_literally(
    http: aiohttp.ClientSession, awkward: Sandbox, pattern: str, operator: str
) -> None:
    node_filter = {
        "datetimeMinute_geq": "2025-03-07T12:30:00Z",
        f"customIdentifier_{operator}": pattern,
    }
    variables = {"tag": awkward.config.account_tag, "f": node_filter}
    status, body = await post(http, awkward, NODE, variables)
    assert status == 200, body
    groups = body["data"]["viewer"]["accounts"][0]["callsTurnUsageAdaptiveGroups"]
    expected = sum(r.egress_bytes for r in awkward.rows() if brute.matches(r, node_filter))
    assert sum(g["sum"]["egressBytes"] for g in groups) == expected
    if operator == "like":  # no customer name holds a NUL, so nothing may match
        assert groups == []
