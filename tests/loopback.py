"""A test's own aiohttp server on a free loopback port: hostile servers, gates and proxies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp import web


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1 (a free port) while inside; yields its ``/graphql`` URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        yield f"http://127.0.0.1:{port}/graphql"
    finally:
        await runner.cleanup()


async def forward(target: str, request: web.Request) -> tuple[bytes, Any]:
    """Send ``request``'s body on to ``target`` (same token); its raw bytes and the JSON answer.

    The core of a rewriting proxy: a test changes the answer before handing it back.
    """
    raw = await request.read()
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": request.headers["Authorization"]}
        async with session.post(target, data=raw, headers=headers) as upstream:
            return raw, await upstream.json()
