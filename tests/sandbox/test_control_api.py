"""The control API (``/__sandbox/...``): it takes the sandbox token and refuses bad input."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.sandbox.conftest import SECRET
from tests.sandbox.rows import NOW, awkward_rows
from turnmeter.sandbox import Fault, FaultQueue, Sandbox, SandboxConfig
from turnmeter.sandbox.faults import MAX_DELAY

AUTH = {"Authorization": f"Bearer {SECRET}"}


@pytest.fixture(scope="module")
async def controlled() -> AsyncIterator[Sandbox]:
    config = SandboxConfig(token=SECRET, now=NOW, rows=awkward_rows(), rate_limit=None)
    async with Sandbox(config) as server:
        yield server


@pytest.fixture
async def sandbox(controlled: Sandbox) -> AsyncIterator[Sandbox]:
    controlled.faults.clear()
    yield controlled
    controlled.faults.clear()


def _control(sandbox: Sandbox, path: str = "faults") -> str:
    return sandbox.url.replace("/graphql", f"/__sandbox/{path}")


async def _post_raw(
    http: aiohttp.ClientSession, url: str, data: bytes, headers: dict[str, str] | None = None
) -> tuple[int, str, dict[str, Any]]:
    sent = {"Content-Type": "application/json", **(AUTH if headers is None else headers)}
    async with http.post(url, data=data, headers=sent) as response:
        return response.status, response.content_type, json.loads(await response.text())


def _error(answer: tuple[int, str, dict[str, Any]], status: int) -> str:
    """The message of a Cloudflare-shaped error answer with ``status``."""
    got, kind, body = answer
    assert (got, kind) == (status, "application/json"), body
    assert body["data"] is None
    [error] = body["errors"]
    if status != 401:  # the 401 is /graphql's own, which carries no code
        assert isinstance(error["extensions"]["code"], str)
    return str(error["message"])


BAD_INPUTS: list[tuple[str, str]] = [
    ('{"latency": "nan"}', "latency"),
    ('{"latency": NaN}', "latency"),
    ('{"latency": Infinity}', "latency"),
    ('{"latency": -1}', "latency"),
    ('{"latency": 1e9}', "latency"),
    ('{"latency": true}', "latency"),
    ('{"latency": "0.2"}', "latency"),
    ('{"kind": "status", "status": 99999}', "status"),
    ('{"kind": "status", "status": 99}', "status"),
    ('{"kind": "status", "status": 204}', "status"),
    ('{"kind": "status", "status": "503"}', "status"),
    ('{"kind": "status", "status": 503.5}', "status"),
    ('{"kind": "html", "status": -1}', "status"),
    ('{"kind": "delay", "seconds": NaN}', "seconds"),
    ('{"kind": "delay", "seconds": -0.5}', "seconds"),
    ('{"kind": "delay", "seconds": 1e12}', "seconds"),
    ('{"kind": "delay", "seconds": "1"}', "seconds"),
    ('{"kind": "graphql_error", "message": 5}', "message"),
    ('{"kind": "graphql_error", "message": "x", "code": ["c"]}', "code"),
    ('{"kind": "status", "status": 500, "body": {"a": 1}}', "body"),
    ('{"kind": "status", "stauts": 503}', "stauts"),
    ('{"kind": 7}', "kind"),
    ('{"faults": {"kind": "reset"}}', "faults"),
    ('{"faults": [{"kind": "reset"}, {"kind": "status", "status": 0}]}', "status"),
    ('{"faults": ["reset"]}', "faults"),
    ('{"faults": [], "latency": 0.1, "extra": 1}', "extra"),
    ("[1, 2]", "body"),
    ("{not json", "body"),
]


@pytest.mark.parametrize(("data", "field"), BAD_INPUTS)
async def test_bad_control_input_is_refused_naming_the_field(
    http: aiohttp.ClientSession, sandbox: Sandbox, data: str, field: str
) -> None:
    sandbox.faults.latency = 0.25
    message = _error(await _post_raw(http, _control(sandbox), data.encode()), 400)
    assert f'"{field}"' in message
    assert sandbox.faults.pending() == []  # nothing of a refused request is applied
    assert sandbox.faults.latency == 0.25


async def test_good_control_input_is_applied(http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    script = {"faults": [{"kind": "status", "status": 503}, {"kind": "delay", "seconds": 0}]}
    status, _, body = await _post_raw(
        http, _control(sandbox), json.dumps({**script, "latency": 0}).encode()
    )
    assert status == 200
    assert [f["kind"] for f in body["pending"]] == ["status", "delay"]
    assert sandbox.faults.pending() == [Fault.status(503), Fault.delay(0)]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "faults"),
        ("POST", "faults"),
        ("DELETE", "faults"),
        ("GET", "budget"),
        ("POST", "budget/reset"),
    ],
)
@pytest.mark.parametrize("token", [None, "wrong-token"])
async def test_control_api_needs_the_sandbox_token(
    http: aiohttp.ClientSession, sandbox: Sandbox, method: str, path: str, token: str | None
) -> None:
    sandbox.faults.push(Fault.reset())
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    data = b'{"latency": 5}'
    async with http.request(method, _control(sandbox, path), data=data, headers=headers) as r:
        answer = r.status, r.content_type, json.loads(await r.text())
    assert _error(answer, 401) == "Unauthorized"
    assert sandbox.faults.pending() == [Fault.reset()]  # untouched
    assert sandbox.faults.latency == 0.0


async def test_health_needs_no_token(http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    async with http.get(_control(sandbox, "health")) as response:
        assert response.status == 200
        assert (await response.json())["ok"] is True


@pytest.mark.parametrize(
    "build",
    [
        lambda: Fault.status(99999),
        lambda: Fault.status(0),
        lambda: Fault.html(700),
        lambda: Fault.delay(math.nan),
        lambda: Fault.delay(-1),
        lambda: Fault.delay(MAX_DELAY + 1),
        lambda: Fault.graphql_error("x", status=42),
    ],
)
def test_python_fault_builders_validate_too(build: Any) -> None:
    with pytest.raises(ValueError, match="must"):
        build()


@pytest.mark.parametrize("latency", [math.nan, math.inf, -0.1, MAX_DELAY + 1])
def test_queue_latency_is_validated(latency: float) -> None:
    queue = FaultQueue()
    with pytest.raises(ValueError, match="latency"):
        queue.latency = latency
    assert queue.latency == 0.0
