"""The sandbox under load: requests per second of the seed's top-keys query, and a big answer.

The sandbox (the default synthetic data set: 7 days, 3 keys, 40 customers) and a trivial aiohttp
endpoint (``bench.server``: prepared bytes, nothing computed) each run in a process of their
own; this process is the clients. Every request asks for a different 7-day window (shifted by
one second per request), so no answer is ever the same twice.

* **Throughput**: ``TopKeysByEgress`` over 7 days from 1, 16 and 64 concurrent clients,
  interleaved with the trivial endpoint at the same concurrency; median requests/s of the rounds,
  p99 latency, and the ratio to the trivial endpoint measured in the same rounds.
* **Big answer**: minute x datacenter over 7 days (10,000 groups) over HTTP, against the same
  statement's SQL alone (``UsageStore.fetch``: execute + fetchall on the same data, in this
  process), interleaved; medians and their ratio.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import orjson

from bench.minute_sandbox import receive

NOW = datetime(2025, 6, 1, tzinfo=UTC)
CONCURRENCY = (1, 16, 64)
#: Requests per round at each concurrency (fewer for one client: it is the slowest).
REQUESTS = {1: 300, 16: 800, 64: 800}
START_TIMEOUT = 120.0
BIG_LIMIT = 10_000
BIG_QUERY = """
query MinuteByDatacenter($accountTag: string!,
  $filter: AccountCallsTurnUsageAdaptiveGroupsFilter_InputObject!, $limit: uint64!) {
  viewer { accounts(filter: {accountTag: $accountTag}) {
    callsTurnUsageAdaptiveGroups(filter: $filter, limit: $limit, orderBy: [datetimeMinute_ASC]) {
      dimensions { datetimeMinute datacenterCode } sum { egressBytes ingressBytes } } } } }
"""


def _serve_sandbox(port_queue: Any) -> None:
    from turnmeter.sandbox import Sandbox, SandboxConfig

    async def serve() -> None:
        config = SandboxConfig(now=NOW, rate_limit=None)
        async with Sandbox(config) as sandbox:
            port_queue.put((sandbox.url, sandbox.config.account_tag, sandbox.config.token))
            await asyncio.Event().wait()

    asyncio.run(serve())


def _serve_trivial(port_queue: Any) -> None:
    from aiohttp import web

    from bench.server import build_app

    async def serve() -> None:
        runner = web.AppRunner(build_app((1,)), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        port_queue.put((f"http://127.0.0.1:{port}/graphql", "0" * 32, "token"))
        await asyncio.Event().wait()

    asyncio.run(serve())


class Server:
    """A server process and how to reach it."""

    def __init__(self, target: Any, name: str) -> None:
        channel: Any = multiprocessing.Queue()
        self.process = multiprocessing.Process(target=target, args=(channel,), daemon=True)
        self.process.start()
        self.url, self.account, token = receive(channel, self.process, START_TIMEOUT, name)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def stop(self) -> None:
        self.process.terminate()
        self.process.join()


def _window(i: int, days: int = 7) -> dict[str, str]:
    until = NOW - timedelta(seconds=i)
    return {
        "datetimeMinute_geq": (until - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "datetimeMinute_lt": until.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _top_keys(account: str, i: int) -> bytes:
    from turnmeter.resources import query_text

    variables = {"accountTag": account, "filter": _window(i), "limit": 10}
    payload = {"query": query_text("TopKeysByEgress"), "variables": variables}
    return orjson.dumps(payload)


async def _round(
    http: aiohttp.ClientSession, server: Server, clients: int, total: int, first: int
) -> tuple[float, list[float]]:
    """(requests/s, latencies) of ``total`` requests from ``clients`` workers."""
    bodies = iter([_top_keys(server.account, first + i) for i in range(total)])
    latencies: list[float] = []

    async def worker() -> None:
        for body in bodies:
            started = time.perf_counter()
            async with http.post(server.url, data=body, headers=server.headers) as response:
                raw = await response.read()
            latencies.append(time.perf_counter() - started)
            if response.status != 200 or b'"data":null' in raw.replace(b" ", b""):
                raise RuntimeError(f"{response.status}: {raw[:300]!r}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return total / (time.perf_counter() - started), latencies


async def throughput(rounds: int) -> list[dict[str, Any]]:
    """Requests/s of the sandbox and of the trivial endpoint at each concurrency."""
    sandbox, trivial = Server(_serve_sandbox, "sandbox"), Server(_serve_trivial, "trivial")
    results = []
    try:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            counter = 0
            for server in (sandbox, trivial):  # warm up: connections, caches
                await _round(http, server, 16, 64, counter)
                counter += 64
            for clients in CONCURRENCY:
                total = REQUESTS[clients]
                rates: dict[str, list[float]] = {"sandbox": [], "trivial": []}
                tails: list[float] = []
                for index in range(rounds):
                    order = [("sandbox", sandbox), ("trivial", trivial)]
                    for name, server in order if index % 2 else order[::-1]:
                        rate, latencies = await _round(http, server, clients, total, counter)
                        counter += total
                        rates[name].append(rate)
                        if name == "sandbox":
                            tails.append(statistics.quantiles(latencies, n=100)[98])
                sandbox_rate = statistics.median(rates["sandbox"])
                trivial_rate = statistics.median(rates["trivial"])
                results.append(
                    {
                        "clients": clients,
                        "requests": total,
                        "sandbox": sandbox_rate,
                        "trivial": trivial_rate,
                        "p99_ms": statistics.median(tails) * 1e3,
                    }
                )
    finally:
        sandbox.stop()
        trivial.stop()
    return results


async def big_answer(rounds: int) -> dict[str, Any]:
    """Seconds of the 10,000-group answer over HTTP and of its SQL alone (medians)."""
    from turnmeter.sandbox import SandboxConfig
    from turnmeter.sandbox.server import build_store, resolve_clock
    from turnmeter.sandbox.sql import GroupQuery

    store = build_store(resolve_clock(SandboxConfig(now=NOW, rate_limit=None)))
    window = _window(0)
    query = GroupQuery(
        ("datetimeMinute", "datacenterCode"),
        ("egressBytes", "ingressBytes"),
        (),
        {key: datetime.fromisoformat(value) for key, value in window.items()},
        ("datetimeMinute_ASC",),
        BIG_LIMIT,
    )
    groups = len(_sql_rows(store, query))
    plan = " | ".join(store.explain(query))
    sandbox = Server(_serve_sandbox, "sandbox")
    http_s: list[float] = []
    sql_s: list[float] = []
    size = 0
    try:
        variables = {"accountTag": sandbox.account, "filter": window, "limit": BIG_LIMIT}
        body = orjson.dumps({"query": BIG_QUERY, "variables": variables})
        async with aiohttp.ClientSession() as http:
            for index in range(rounds + 1):
                started = time.perf_counter()
                async with http.post(sandbox.url, data=body, headers=sandbox.headers) as response:
                    raw = await response.read()
                elapsed = time.perf_counter() - started
                assert response.status == 200, raw[:300]
                started = time.perf_counter()
                _sql_rows(store, query)
                sql_elapsed = time.perf_counter() - started
                if index:  # the first round warms both up
                    http_s.append(elapsed)
                    sql_s.append(sql_elapsed)
                size = len(raw)
        answer = orjson.loads(raw)["data"]["viewer"]["accounts"][0]["callsTurnUsageAdaptiveGroups"]
        assert len(answer) == groups, (len(answer), groups)
    finally:
        sandbox.stop()
        store.close()
    return {
        "groups": groups,
        "bytes": size,
        "http": statistics.median(http_s),
        "sql": statistics.median(sql_s),
        "plan": plan,
    }


def _sql_rows(store: Any, query: Any) -> list[Any]:
    """The statement's rows, as the server's SQL step fetches them (``UsageStore.fetch``; the
    same statement by hand for a tree from before it existed, to measure the baseline)."""
    fetch = getattr(store, "fetch", None)
    if fetch is not None:
        return fetch(query)  # type: ignore[no-any-return]
    from turnmeter.sandbox.sql import build_sql

    return store._db.execute(*build_sql(query)).fetchall()  # type: ignore[no-any-return]


def report(rounds: int) -> list[str]:
    """The two tables, as printed lines."""
    rates = asyncio.run(throughput(rounds))
    big = asyncio.run(big_answer(rounds))
    lines = [
        "TopKeysByEgress over 7 days (default data set, a new window every request), "
        f"median of {rounds} interleaved rounds",
        f"{'clients':>7} {'requests':>8} {'sandbox req/s':>13} {'p99 ms':>7} "
        f"{'trivial req/s':>13} {'sandbox/trivial':>15}",
    ]
    for row in rates:
        lines.append(
            f"{row['clients']:>7} {row['requests']:>8} {row['sandbox']:>13.0f} "
            f"{row['p99_ms']:>7.1f} {row['trivial']:>13.0f} "
            f"{row['sandbox'] / row['trivial']:>15.2f}"
        )
    lines += [
        "",
        f"minute x datacenter over 7 days: {big['groups']:,} groups, {big['bytes']:,} bytes, "
        f"median of {rounds} interleaved rounds",
        f"SQL alone {big['sql']:.3f} s, over HTTP {big['http']:.3f} s, "
        f"HTTP/SQL {big['http'] / big['sql']:.2f}",
        f"plan: {big['plan']}",
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(report(5)))
