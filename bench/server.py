"""The benchmark's one server: prepared Cloudflare-shaped answers over loopback HTTP.

Runs in its own process (so the client under test has a core to itself) and answers every POST
with a prepared body of the largest prepared size within the request's ``limit`` variable: the
``UsageTimeseries`` shape (minute, egress), or for the DSL's ``TurnUsageQuery`` the five-field
shape :data:`WIDE_FIELDS` (and the node limits for ``TurnNodeLimits``). A client asking
``limit + 1`` rows to learn whether more exist gets the same answer, and a keyset page (a
filter with ``AND``) an empty one: the series has no rows past its last one. The same
bytes for every contender, nothing computed per request.

    python -m bench.server        # prints "PORT <n>", then serves until killed
    python -m bench.server 100 1000 100000   # other prepared sizes; maxPageSize the largest
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


#: The DSL contenders' query: three dimensions and two sums (DSL names, as their response paths).
WIDE_FIELDS = (
    ("minute", "dimensions", "datetimeMinute"),
    ("key_id", "dimensions", "keyId"),
    ("datacenter_code", "dimensions", "datacenterCode"),
    ("egress_bytes", "sum", "egressBytes"),
    ("ingress_bytes", "sum", "ingressBytes"),
)
LIMITS = {
    "enabled": True,
    "availableFields": [],
    "maxDuration": 31 * 86400,
    "maxNumberOfFields": 30,
    "maxPageSize": 10_000,
    "notOlderThan": 100 * 365 * 86400,
}


def wide_body_for(rows: int) -> bytes:
    """A five-field answer (:data:`WIDE_FIELDS`) of ``rows`` groups, in the DSL's order."""
    groups = [
        {
            "dimensions": {
                "datetimeMinute": (START + timedelta(minutes=i)).strftime("%FT%TZ"),
                "keyId": f"key-{i % 7:02d}",
                "datacenterCode": "FRA",
            },
            "sum": {"egressBytes": 1_000_000 + (i * 7919) % 50_000_000, "ingressBytes": i},
        }
        for i in range(rows)
    ]
    answer = {"data": {"viewer": {"accounts": [{"callsTurnUsageAdaptiveGroups": groups}]}}}
    return orjson.dumps(answer)


def build_app(sizes: tuple[int, ...] = SIZES) -> web.Application:
    """An app answering ``POST /graphql`` with the prepared body for the requested ``limit``.

    The node limits' ``maxPageSize`` is Cloudflare's 10,000, or the largest size if larger
    (so that one request can carry it: the scaling bench's 100,000 rows)."""
    bodies = {n: body_for(n) for n in (0, *sizes)}
    wide = {n: wide_body_for(n) for n in (0, *sizes)}
    node = dict(LIMITS, maxPageSize=max(LIMITS["maxPageSize"], *sizes))
    limits = {"viewer": {"accounts": [{"settings": {"callsTurnUsageAdaptiveGroups": node}}]}}
    limits_body = orjson.dumps({"data": limits})

    async def graphql(request: web.Request) -> web.Response:
        payload = orjson.loads(await request.read())
        if payload.get("operationName") == "TurnNodeLimits":
            return web.Response(body=limits_body, content_type="application/json")
        variables = payload.get("variables", {})
        limit = int(variables.get("limit", 1))
        if "AND" in (variables.get("filter") or {}):
            limit = 0  # a keyset page: nothing follows the series' last row
        prepared = wide if payload.get("operationName") == "TurnUsageQuery" else bodies
        rows = max(n for n in prepared if n <= limit)
        return web.Response(body=prepared[rows], content_type="application/json")

    app = web.Application()
    app.router.add_post("/graphql", graphql)
    return app


async def _serve(sizes: tuple[int, ...]) -> None:
    runner = web.AppRunner(build_app(sizes), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"PORT {port}", flush=True)
    await asyncio.Event().wait()  # serve until the benchmark kills this process


if __name__ == "__main__":
    try:
        asyncio.run(_serve(tuple(int(n) for n in sys.argv[1:]) or SIZES))
    except KeyboardInterrupt:
        sys.exit(0)
