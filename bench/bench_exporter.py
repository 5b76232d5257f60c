"""Benchmark (not a test): ``turnmeter exporter`` against its three goals (issue 15).

1. Cloudflare queries per poll for an account with 40 customers x 3 keys (every customer on
   every key, every minute): counted by the sandbox's own budget (each TURN node it executes
   costs one), goal 1 per steady-state poll however many label sets.
2. The exporter's RSS over 24 simulated hours (1,440 polls, a minute each) for 5,000 customers
   with the default cap (100 customers with their own series), in a process of its own; goal:
   flat, below 100 MB.
3. Scrape latency of ``/metrics`` with 10,000 label sets (each with the egress and ingress
   counters and the connections gauge), against aiohttp serving the same bytes as a static
   body (the HTTP floor) in the same run; goal: p99 below 50 ms.

The sandbox runs in its own process, so its SQL does not share the measured process's core.

    .venv/bin/python bench/bench_exporter.py [--customers 5000] [--hours 24] [--scrapes 300]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.minute_sandbox import ChildFailed, receive

START = datetime(2026, 1, 1, tzinfo=UTC)
SERVER_START_SECONDS = 900
CHILD_SECONDS = 3600
#: A budget the bench never spends and that never refills: what it lost is what was executed.
COUNTING_LIMIT, COUNTING_WINDOW = 10_000_000, 1e12


def _row(minute: datetime, key: str, customer: str, egress: int, conns: int) -> Any:
    from turnmeter.sandbox import UsageRow

    return UsageRow(
        minute, key, "user", customer, "Paris", "CDG", "FR", "WEUR", egress, egress // 2, conns
    )


def dense_rows(customers: int, keys: int, minutes: int) -> list[Any]:
    """Every customer on every key in every minute."""
    return [
        _row(START + timedelta(minutes=m), f"key-{k}", f"customer-{c:05d}", 1000 + m + c * 7, 1)
        for m in range(minutes)
        for k in range(keys)
        for c in range(customers)
    ]


def sparse_rows(customers: int, keys: int, minutes: int, active: int) -> list[Any]:
    """About ``active`` customers a minute, drawn with heavy-tailed weights (Pareto)."""
    rng = random.Random(15)
    weights = [rng.paretovariate(1.3) for _ in range(customers)]
    rows = []
    for m in range(minutes):
        minute = START + timedelta(minutes=m)
        for c in set(rng.choices(range(customers), weights, k=active)):
            rows.append(_row(minute, f"key-{c % keys}", f"customer-{c:05d}", 10**6 + c, 2))
    return rows


def serve(kind: str, args: tuple[int, ...], out: Any) -> None:
    """A sandbox over ``dense_rows`` or ``sparse_rows`` with a counting budget."""
    from turnmeter.sandbox import Sandbox, SandboxConfig

    async def run() -> None:
        rows = dense_rows(*args) if kind == "dense" else sparse_rows(*args)
        end = START + timedelta(minutes=args[2])
        config = SandboxConfig(
            now=end, rows=rows, rate_limit=COUNTING_LIMIT, rate_window=COUNTING_WINDOW
        )
        async with Sandbox(config) as sandbox:
            out.put((sandbox.url, sandbox.config.account_tag, sandbox.config.token, len(rows)))
            await asyncio.Event().wait()

    asyncio.run(run())


class SimClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def _spent(url: str, token: str) -> int:
    import aiohttp

    control = url.replace("/graphql", "/__sandbox/budget")
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as session, session.get(control, headers=headers) as r:
        body = await r.json()
    return COUNTING_LIMIT - int(body["remaining"])


def _client(endpoint: tuple[str, str, str, int]) -> Any:
    from turnmeter import RateBudget, TurnUsage

    url, account, token, _ = endpoint
    return TurnUsage(
        account_tag=account, api_token=token, endpoint=url, rate_budget=RateBudget(limit=None)
    )


async def queries_per_poll(endpoint: tuple[str, str, str, int], polls: int) -> dict[str, Any]:
    from turnmeter.exporter import ExporterSettings
    from turnmeter.exporter.app import Exporter

    url, _, token, rows = endpoint
    clock = SimClock(START + timedelta(minutes=60))  # an hour of data settled: the backfill
    async with _client(endpoint) as turn:
        exporter = Exporter(turn, ExporterSettings(), clock=clock)
        before = await _spent(url, token)
        assert await exporter.poller.poll()
        backfill = await _spent(url, token) - before
        per_poll = []
        for _ in range(polls):
            clock.now += timedelta(minutes=1)
            before = await _spent(url, token)
            assert await exporter.poller.poll(), exporter.poller.stats.last_error
            per_poll.append(await _spent(url, token) - before)
        series = sum(1 for _ in exporter.poller.ledger.exposed())
        await exporter.close()
    return {"rows": rows, "backfill": backfill, "per_poll": per_poll, "series": series}


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_child(endpoint: tuple[str, str, str, int], hours: int, out: Any) -> None:
    """Poll 24 simulated hours a minute at a time; report RSS after each hour."""
    import resource

    from turnmeter.exporter import ExporterSettings
    from turnmeter.exporter.app import Exporter

    async def run() -> dict[str, Any]:
        clock = SimClock(START + timedelta(minutes=5))
        readings = []
        started = time.perf_counter()
        async with _client(endpoint) as turn:
            exporter = Exporter(turn, ExporterSettings(), clock=clock)
            for _hour in range(hours):
                for _ in range(60):
                    clock.now += timedelta(minutes=1)
                    if not await exporter.poller.poll():
                        raise RuntimeError(exporter.poller.stats.last_error)
                    await exporter.exposition.body(None)  # a scrape a minute
                readings.append(round(_rss_mb(), 1))
            series = sum(1 for _ in exporter.poller.ledger.exposed())
            stored = len(exporter.poller.ledger.counters)
            await exporter.close()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {
            "rss_by_hour": readings,
            "peak_mb": round(peak, 1),
            "series": series,
            "stored_counters": stored,
            "seconds": round(time.perf_counter() - started, 1),
        }

    out.put(asyncio.run(run()))


async def scrape_latency(label_sets: int, scrapes: int) -> dict[str, float]:
    import aiohttp
    from aiohttp import web

    from turnmeter import TurnUsage
    from turnmeter.exporter import ExporterSettings
    from turnmeter.exporter.app import Exporter
    from turnmeter.exporter.ledger import Ledger

    keys = 4
    customers = label_sets // keys
    # Never contacted: the scrape reads memory only.
    async with TurnUsage(
        account_tag="a" * 32, api_token="x", endpoint="http://127.0.0.1:9"
    ) as turn:
        settings = ExporterSettings(top_customers=customers)
        exporter = Exporter(turn, settings, clock=lambda: START + timedelta(days=3))
        usage = {
            (f"key-{k}", f"customer-{c:05d}"): (10**9 + c, 10**8 + c)
            for k in range(keys)
            for c in range(customers)
        }
        exporter.poller.ledger = Ledger(
            labels=settings.labels,
            top_customers=customers,
            watermark=START + timedelta(days=3),
            counters=usage,
            month_usage=usage,
        )
        await exporter.exposition.refresh()
        port = await exporter.start_http("127.0.0.1", 0)
        body = b""
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                body = await response.read()
            static = web.Application()

            async def floor(_: web.Request) -> web.Response:
                return web.Response(body=body, content_type="text/plain")

            static.router.add_get("/metrics", floor)
            runner = web.AppRunner(static, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            floor_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            times: dict[str, list[float]] = {"exporter": [], "floor": []}
            for _ in range(scrapes):  # interleaved, so both see the same machine load
                for name, p in (("exporter", port), ("floor", floor_port)):
                    started = time.perf_counter()
                    async with session.get(f"http://127.0.0.1:{p}/metrics") as response:
                        await response.read()
                    times[name].append(time.perf_counter() - started)
            await runner.cleanup()
        await exporter.close()
    lines = body.count(b"\n")

    def p99(values: list[float]) -> float:
        return statistics.quantiles(values, n=100)[98] * 1e3

    return {
        "samples": float(lines),
        "bytes": float(len(body)),
        "exporter_p50_ms": statistics.median(times["exporter"]) * 1e3,
        "exporter_p99_ms": p99(times["exporter"]),
        "floor_p50_ms": statistics.median(times["floor"]) * 1e3,
        "floor_p99_ms": p99(times["floor"]),
    }


def _start(context: Any, kind: str, args: tuple[int, ...]) -> tuple[Any, Any]:
    channel = context.Queue()
    server = context.Process(target=serve, args=(kind, args, channel), daemon=True)
    server.start()
    return server, receive(channel, server, SERVER_START_SECONDS, f"the {kind} sandbox")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--active", type=int, default=600, help="customers active a minute")
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--polls", type=int, default=30)
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--scrapes", type=int, default=300)
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")

    server, endpoint = _start(context, "dense", (40, 3, 60 + args.polls))
    try:
        q = asyncio.run(queries_per_poll(endpoint, args.polls))
    finally:
        server.terminate()
    print("1. Cloudflare queries per poll, 40 customers x 3 keys (sandbox's count)")
    print(f"   {q['rows']:,} rows; {q['series']} label sets exposed")
    print(f"   backfill of the first hour: {q['backfill']} queries")
    print(
        f"   steady polls: {len(q['per_poll'])}, queries per poll: min {min(q['per_poll'])}, "
        f"max {max(q['per_poll'])} (goal 1): {'met' if max(q['per_poll']) == 1 else 'NOT met'}"
    )

    minutes = args.hours * 60 + 10
    server, endpoint = _start(context, "sparse", (args.customers, 3, minutes, args.active))
    try:
        channel = context.Queue()
        child = context.Process(target=rss_child, args=(endpoint, args.hours, channel))
        child.start()
        r = receive(channel, child, CHILD_SECONDS, "the exporter process")
        child.join()
    except ChildFailed as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    finally:
        server.terminate()
    readings = r["rss_by_hour"]
    later = readings[len(readings) // 2 :]
    growth = later[-1] - later[0]
    print(
        f"\n2. Exporter RSS, {args.customers:,} customers (~{args.active} active a minute), "
        f"default cap, {args.hours} simulated hours ({args.hours * 60} polls + a scrape each)"
    )
    print(f"   {endpoint[3]:,} rows; {r['series']} series exposed, {r['stored_counters']} stored")
    print(f"   RSS by hour (MB): {readings}")
    print(
        f"   peak {r['peak_mb']} MB; second half grew {growth:+.1f} MB; {r['seconds']} s; "
        f"goal flat, < 100 MB: {'met' if r['peak_mb'] < 100 and growth < 5 else 'NOT met'}"
    )

    s = asyncio.run(scrape_latency(args.series, args.scrapes))
    print(
        f"\n3. Scrape latency, {args.series:,} label sets ({int(s['samples']):,} lines, "
        f"{s['bytes'] / 1e6:.1f} MB), {args.scrapes} scrapes interleaved with the floor"
    )
    print(
        f"   exporter p50 {s['exporter_p50_ms']:.1f} ms, p99 {s['exporter_p99_ms']:.1f} ms; "
        f"static bytes p50 {s['floor_p50_ms']:.1f} ms, p99 {s['floor_p99_ms']:.1f} ms; "
        f"p99 x floor {s['exporter_p99_ms'] / s['floor_p99_ms']:.1f}"
    )
    print(f"   goal p99 < 50 ms: {'met' if s['exporter_p99_ms'] < 50 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
