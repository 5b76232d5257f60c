"""The sandbox's aiohttp application: ``/graphql`` (POST and GET) and the ``/__sandbox`` API.

Every answer is Cloudflare-shaped JSON, aiohttp's own refusals included (an unknown path, a wrong
method, a body over MAX_BODY_BYTES): the ``json_errors`` middleware reshapes them. Only faults
that are scripted to break the shape (``html``, ``not_json``, a custom ``body``) break it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from turnmeter.sandbox import refusals, turn_keys
from turnmeter.sandbox.clock import CLOCK_HEADER, RATE_HEADER, format_clock, format_rate
from turnmeter.sandbox.control import read_script
from turnmeter.sandbox.engine import Engine
from turnmeter.sandbox.faults import Fault, FaultQueue
from turnmeter.sandbox.guards import MAX_BODY_BYTES
from turnmeter.sandbox.model import SandboxConfig
from turnmeter.sandbox.ratelimit import QueryBudget
from turnmeter.sandbox.replies import (
    Reply,
    encode,
    error_reply,
    http_error_reply,
    json_response,
)
from turnmeter.sandbox.store import UsageStore
from turnmeter.sandbox.turn_keys import TurnKeys

log = logging.getLogger("turnmeter.sandbox")

GRAPHQL_PATH = "/graphql"
CONTROL_PREFIX = "/__sandbox"
_HTML_PAGE = """<!DOCTYPE html>
<html><head><title>{status} Bad gateway | api.cloudflare.com | Cloudflare</title></head>
<body><h1>Error {status}</h1><p>Bad gateway</p><p>The web server reported a bad gateway
error.</p><p>Cloudflare Ray ID: {ray}</p></body></html>
"""


@dataclass
class SandboxState:
    """Everything the handlers share: config, data, budget, faults, issued TURN credentials."""

    config: SandboxConfig
    store: UsageStore
    engine: Engine
    faults: FaultQueue
    turn_keys: TurnKeys

    @classmethod
    def build(cls, config: SandboxConfig, store: UsageStore) -> SandboxState:
        """State for a store, with a fresh budget and an empty fault queue."""
        budget = QueryBudget(config.rate_limit, config.rate_window)
        engine = Engine(config, store, budget)
        # The TURN key API reads the engine's config, so a moved clock (set_now) moves expiry too.
        keys = TurnKeys(config.turn_key_token, lambda: engine.config.clock())
        return cls(config, store, engine, FaultQueue(), keys)


STATE_KEY = web.AppKey("turnmeter_sandbox_state", SandboxState)


async def _answer(state: SandboxState, request: web.Request) -> Reply:
    # The raw body goes to the engine, which decodes it (bounded) off the event loop.
    payload = dict(request.query) if request.method == "GET" else await request.read()
    return await state.engine.run(
        payload,
        authorization=request.headers.get("Authorization"),
        account_based=request.headers.get("X-Rate-Limit-Type", "").lower() == "account-based",
    )


def _reset_connection(request: web.Request) -> None:
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:  # linger 0: close() sends RST instead of FIN
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def _send_truncated(request: web.Request, reply: Reply) -> web.StreamResponse:
    body = encode(reply.body)
    response = web.StreamResponse(status=reply.status, headers={"Content-Type": "application/json"})
    response.content_length = len(body)
    await response.prepare(request)
    await response.write(body[: len(body) // 2])
    if request.transport is not None:
        request.transport.close()  # flushes what was written, then FIN: the body stays short
    return response


def _status_body(state: SandboxState, fault: Fault) -> web.Response:
    if fault.body is not None:
        kind = "application/json" if fault.body.lstrip().startswith("{") else "text/plain"
        return web.Response(status=fault.http_status, text=fault.body, content_type=kind)
    message = {503: refusals.OVERLOADED, 429: refusals.RATE_LIMITED}.get(
        fault.http_status, refusals.INTERNAL
    )
    reply = state.engine.error_reply(message, fault.http_status)
    reply.status = fault.http_status  # a scripted status is sent as scripted, in either mode
    return json_response(reply)


async def _apply_fault(
    state: SandboxState, request: web.Request, fault: Fault
) -> web.StreamResponse | None:
    """The faulty answer, or None when the request should then be answered normally."""
    if fault.kind == "delay":
        await asyncio.sleep(fault.seconds)
        return None
    await request.read()  # take the whole request first, so the failure is in the answer
    if fault.kind == "reset":
        _reset_connection(request)
        raise asyncio.CancelledError  # nothing more can be sent on this connection
    if fault.kind == "truncated":
        return await _send_truncated(request, await _answer(state, request))
    if fault.kind == "html":
        page = _HTML_PAGE.format(status=fault.http_status, ray="0" * 16)
        return web.Response(status=fault.http_status, text=page, content_type="text/html")
    if fault.kind == "not_json":
        return web.Response(
            status=fault.http_status, text=fault.body or "", content_type="text/plain"
        )
    if fault.kind == "graphql_error":
        reply = state.engine.error_reply(fault.message or refusals.INTERNAL, fault.http_status)
        if fault.code is not None:
            reply.body["errors"][0]["extensions"]["code"] = fault.code
        reply.status = fault.http_status
        return json_response(reply)
    return _status_body(state, fault)


async def graphql_handler(request: web.Request) -> web.StreamResponse:
    """``POST /graphql`` (and ``GET`` with ``?query=``), after any scripted fault."""
    state = request.app[STATE_KEY]
    faulty = await _scripted_fault(state, request)
    if faulty is not None:
        return faulty
    return json_response(await _answer(state, request))


async def _scripted_fault(state: SandboxState, request: web.Request) -> web.StreamResponse | None:
    """Wait the scripted latency, then the reply of the next scripted fault (None: answer)."""
    if state.faults.latency:
        await asyncio.sleep(state.faults.latency)
    fault = state.faults.pop()
    if fault is None:
        return None
    return await _apply_fault(state, request, fault)


def _turn_key_route(
    handler: Callable[[TurnKeys, web.Request], Awaitable[web.Response]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A TURN key API handler behind the same fault queue and latency as ``/graphql``."""

    async def route(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE_KEY]
        faulty = await _scripted_fault(state, request)
        if faulty is not None:
            return faulty
        return await handler(state.turn_keys, request)

    return route


def _unauthorized(request: web.Request) -> web.Response | None:
    """The 401 for a control request without the sandbox token (the one ``/graphql`` takes)."""
    engine = request.app[STATE_KEY].engine
    if engine.authorized(request.headers.get("Authorization")):
        return None
    return json_response(error_reply(refusals.UNAUTHORIZED, 401))


async def faults_handler(request: web.Request) -> web.Response:
    """``GET`` lists, ``POST`` queues (``{"faults": [...], "latency": s}``), ``DELETE`` clears."""
    refused = _unauthorized(request)
    if refused is not None:
        return refused
    queue = request.app[STATE_KEY].faults
    if request.method == "POST":
        try:
            script = read_script(await request.read())
        except ValueError as exc:
            return json_response(http_error_reply(400, str(exc), code="bad_control"))
        queue.push(*script.faults)
        if script.latency is not None:
            queue.latency = script.latency
    elif request.method == "DELETE":
        queue.clear()
    pending = [fault.to_json() for fault in queue.pending()]
    return web.json_response({"pending": pending, "latency": queue.latency})


async def budget_handler(request: web.Request) -> web.Response:
    """``POST /__sandbox/budget/reset`` refills the rate budget; ``GET`` shows it."""
    refused = _unauthorized(request)
    if refused is not None:
        return refused
    budget = request.app[STATE_KEY].engine.budget
    if request.method == "POST":
        budget.reset()
    return web.json_response({"remaining": budget.remaining(), "limit": budget.limit})


async def relay_handler(request: web.Request) -> web.Response:
    """``POST /__sandbox/turn/relay``: traffic for an issued TURN username (its key and custom
    identifier come with it), as ``Sandbox.relay`` records it; 400 once revoked or expired."""
    refused = _unauthorized(request)
    if refused is not None:
        return refused
    state = request.app[STATE_KEY]
    try:
        body = json.loads(await request.read())
        row = turn_keys.relay_request(state.turn_keys, body, state.engine.config.clock())
    except ValueError as exc:  # JSONDecodeError and RelayRefused included
        return json_response(http_error_reply(400, str(exc), code="bad_control"))
    await asyncio.to_thread(state.store.add, [row])
    return web.json_response({"added": 1, "minute": row.minute.isoformat()})


async def health_handler(request: web.Request) -> web.Response:
    """``GET /__sandbox/health``: the row count and the sandbox clock (no token: it is a probe)."""
    state = request.app[STATE_KEY]
    rows = await asyncio.to_thread(state.store.count)
    return web.json_response({"ok": True, "rows": rows, "now": format_clock(state.config.clock())})


@web.middleware
async def json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """aiohttp's own refusals (404, 405, 413, ...) and any crash, as Cloudflare-shaped JSON."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = (exc.text or "").removeprefix(f"{exc.status}: ") or exc.reason
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return json_response(http_error_reply(exc.status, message), allow)
    except Exception:
        # RecursionError included: a bug must still answer in the shape clients parse
        log.exception("sandbox request failed")
        return json_response(http_error_reply(500, refusals.INTERNAL))


async def _clock_header(request: web.Request, response: web.StreamResponse) -> None:
    # Every answer (refusals and faults with a body included) tells the client the sandbox's
    # clock, so "the last 7 days" can be counted on the data's clock, not the client's.
    config = request.app[STATE_KEY].config
    response.headers[CLOCK_HEADER] = format_clock(config.clock())
    response.headers[RATE_HEADER] = format_rate(config.rate_limit, config.rate_window)


def create_app(state: SandboxState) -> web.Application:
    """The aiohttp application serving ``state``."""
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[json_errors])
    app[STATE_KEY] = state
    app.on_response_prepare.append(_clock_header)
    app.router.add_route("POST", GRAPHQL_PATH, graphql_handler)
    app.router.add_route("GET", GRAPHQL_PATH, graphql_handler)
    for method in ("GET", "POST", "DELETE"):
        app.router.add_route(method, f"{CONTROL_PREFIX}/faults", faults_handler)
    app.router.add_route("GET", f"{CONTROL_PREFIX}/budget", budget_handler)
    app.router.add_route("POST", f"{CONTROL_PREFIX}/budget/reset", budget_handler)
    app.router.add_route("GET", f"{CONTROL_PREFIX}/health", health_handler)
    app.router.add_route("POST", f"{CONTROL_PREFIX}/turn/relay", relay_handler)
    for method, path, handler in turn_keys.ROUTES:
        app.router.add_route(method, path, _turn_key_route(handler))
    return app
