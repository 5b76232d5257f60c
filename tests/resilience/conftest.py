"""Fixtures for the resilience tests: sandboxes, a counting proxy in front of them, clients.

The proxy is a real HTTP server on loopback that forwards each request to the sandbox and
records what the server side sees: how many requests, how many at once, which statuses. It can
also answer with raw bytes (``proxy.raw_bodies``) for bodies the sandbox cannot send as text.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.conftest import CANARY_TOKEN
from turnmeter import TurnUsage
from turnmeter.sandbox import Sandbox, SandboxConfig
from turnmeter.transport.ratelimit import NO_RATE_BUDGET
from turnmeter.transport.retry import RetryPolicy

#: Backoff small enough that a test with retries stays in the tens of milliseconds.
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, total_time=5.0)


@dataclass
class CountingProxy:
    """Forwards to ``target``; counts requests, concurrency and statuses as the server sees them."""

    target: str
    url: str = ""
    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    raw_bodies: list[tuple[int, bytes]] = field(default_factory=list)
    #: Seconds to hold the n-th request (from 1) before forwarding it: the network and scheduling
    #: jitter a loaded host puts between a client's grant and the server's count, made explicit.
    forward_delay: Callable[[int], float] | None = None

    def reset_counts(self) -> None:
        self.requests = self.in_flight = self.max_in_flight = 0
        self.statuses.clear()

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        number = self.requests
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            body = await request.read()
            if self.raw_bodies:
                status, raw = self.raw_bodies.pop(0)
                self.statuses[status] += 1
                return web.Response(status=status, body=raw, content_type="application/json")
            if self.forward_delay is not None:
                await asyncio.sleep(self.forward_delay(number))
            return await self._forward(request, body)
        finally:
            self.in_flight -= 1

    async def _forward(self, request: web.Request, body: bytes) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED}
        session = request.app[SESSION]
        try:
            async with session.post(self.target, data=body, headers=headers) as upstream:
                payload = await upstream.read()
                self.statuses[upstream.status] += 1
                return web.Response(
                    status=upstream.status,
                    body=payload,
                    content_type=upstream.content_type,
                )
        except aiohttp.ClientError:
            # The sandbox dropped the connection (a reset fault): drop ours too.
            if request.transport is not None:
                request.transport.abort()
            raise


FORWARDED = {"authorization", "content-type", "accept", "x-rate-limit-type"}
SESSION = web.AppKey("session", aiohttp.ClientSession)


async def start_proxy(target: str) -> tuple[CountingProxy, web.AppRunner]:
    """A :class:`CountingProxy` serving on an ephemeral loopback port."""
    proxy = CountingProxy(target)
    app = web.Application()
    app[SESSION] = aiohttp.ClientSession()

    async def close_session(app: web.Application) -> None:
        await app[SESSION].close()

    app.on_cleanup.append(close_session)
    app.router.add_post("/graphql", proxy.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    proxy.url = f"http://127.0.0.1:{port}/graphql"
    return proxy, runner


@dataclass
class Stack:
    """A sandbox with a counting proxy in front of it."""

    sandbox: Sandbox
    proxy: CountingProxy

    def client(self, **options: Any) -> TurnUsage:
        """A client for the proxy; no retries and no budget unless ``options`` say so."""
        settings: dict[str, Any] = {
            "account_tag": self.sandbox.config.account_tag,
            "api_token": self.sandbox.config.token,
            "endpoint": self.proxy.url,
            "retry": FAST_RETRY,
            "rate_budget": NO_RATE_BUDGET,
        }
        return TurnUsage(**(settings | options))


async def open_stack(config: SandboxConfig) -> AsyncIterator[Stack]:
    async with Sandbox(config) as sandbox:
        proxy, runner = await start_proxy(sandbox.url)
        try:
            yield Stack(sandbox, proxy)
        finally:
            await runner.cleanup()


@pytest.fixture
async def stack(rows_config: SandboxConfig) -> AsyncIterator[Stack]:
    """A sandbox of its own (faults, counts) behind a counting proxy; no server rate limit."""
    async for value in open_stack(rows_config):
        yield value


@pytest.fixture
def config_with(rows_config: SandboxConfig) -> Any:
    """``config_with(rate_limit=..., ...)``: the shared rows config with changes."""

    def build(**changes: Any) -> SandboxConfig:
        return replace(rows_config, **changes)

    return build


@pytest.fixture(autouse=True)
def no_canary_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every resilience test runs with DEBUG logging; the token never shows up in a record."""
    caplog.set_level(logging.DEBUG)
    yield
    for record in caplog.records:
        text = record.getMessage() + repr(record.__dict__)
        assert CANARY_TOKEN not in text, record.name


async def gather_settled(*awaitables: Any) -> list[Any]:
    """``asyncio.gather`` that returns exceptions as values."""
    return list(await asyncio.gather(*awaitables, return_exceptions=True))
