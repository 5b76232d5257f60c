"""The benchmark's one server: prepared Cloudflare-shaped answers over loopback HTTP.

Runs in its own process (so the client under test has a core to itself) and answers every POST
with the prepared ``UsageTimeseries`` body of the largest prepared size within the request's
``limit`` variable (a client asking ``limit + 1`` rows to learn whether more exist gets the same
answer), and an empty answer to a keyset page (a filter with ``AND``: the series has no rows past
its last one): the same bytes for every contender, nothing computed per request.

    python -m bench.server        # prints "PORT <n>", then serves until killed
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta

import orjson
from aiohttp import web

#: Row counts the benchmark asks for (by ``limit``).
SIZES = (1, 100, 10_000)
START = datetime(2025, 11, 1, tzinfo=UTC)


def body_for(rows: int) -> bytes:
    """A timeseries answer (``datetimeMinute`` + ``sum.egressBytes``) of ``rows`` groups."""
    groups = [
        {
            "dimensions": {"datetimeMinute": (START + timedelta(minutes=i)).strftime("%FT%TZ")},
            "sum": {"egressBytes": 1_000_000 + (i * 7919) % 50_000_000},
        }
        for i in range(rows)
    ]
    answer = {"data": {"viewer": {"accounts": [{"callsTurnUsageAdaptiveGroups": groups}]}}}
    return orjson.dumps(answer)


def build_app(sizes: tuple[int, ...] = SIZES) -> web.Application:
    """An app answering ``POST /graphql`` with the prepared body for the requested ``limit``."""
    bodies = {n: body_for(n) for n in (0, *sizes)}

    async def graphql(request: web.Request) -> web.Response:
        variables = orjson.loads(await request.read()).get("variables", {})
        limit = int(variables.get("limit", 1))
        if "AND" in (variables.get("filter") or {}):
            limit = 0  # a keyset page: nothing follows the series' last row
        rows = max(n for n in bodies if n <= limit)
        return web.Response(body=bodies[rows], content_type="application/json")

    app = web.Application()
    app.router.add_post("/graphql", graphql)
    return app


async def _serve() -> None:
    runner = web.AppRunner(build_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"PORT {port}", flush=True)
    await asyncio.Event().wait()  # serve until the benchmark kills this process


if __name__ == "__main__":
    try:
        asyncio.run(_serve())
    except KeyboardInterrupt:
        sys.exit(0)
