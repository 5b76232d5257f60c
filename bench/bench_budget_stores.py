"""Benchmark (not a test): rate budget acquire latency, memory vs SQLite vs Redis, 8 processes.

Each store is measured with ``--processes`` worker processes started together, each calling
``RateLimiter.acquire(1)`` ``--acquires`` times in a row (fail-fast mode, Cloudflare's limit of
300 queries, a 5 s window: the first 300 of each window are grants, the rest refusals, both full
decisions) and timing every call with ``perf_counter``. Memory is one window per process (the
floor: no sharing at all); SQLite is one file shared by the processes; Redis is a
``redis-server`` started here on a free loopback port (no persistence), shared by all of them.
A fourth run times a bare ``PING`` through the same redis-py client from the same number of
processes: the round trip no Redis decision can beat, and what the machine's scheduling adds to
it. The table gives p50 and p99 over every call of every process and the ratio of each p99 to
that of the PING, measured in the same run. Goal for Redis: p99 under 2 ms on loopback.

    .venv/bin/python bench/bench_budget_stores.py [--processes 8] [--acquires 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from turnmeter.errors import RateLimited
from turnmeter.transport.ratelimit import RateBudget, RateLimiter, RateMode

ROOT = Path(__file__).resolve().parents[1]
STORES = ("memory", "sqlite", "redis")
#: The floor of any Redis-backed decision: one PING round trip through redis-py's asyncio client.
PING = "redis PING"
#: Seconds the workers get to start before they begin together.
STARTUP = 2.0
GOAL_P99_MS = 2.0


async def pings(url: str, count: int, start: float) -> list[float]:
    from turnmeter.transport.redis_conn import RedisConnection
    from turnmeter.transport.redis_url import RedisURL

    connection = RedisConnection(RedisURL(url))
    try:
        client = connection.client()
        await client.ping()
        await asyncio.sleep(max(start - time.time(), 0.0))
        times = []
        for _ in range(count):
            began = time.perf_counter()
            await client.ping()
            times.append(time.perf_counter() - began)
        return times
    finally:
        await connection.aclose()


async def worker(store: str, target: str, acquires: int, start: float) -> list[float]:
    if store == PING:
        return await pings(target, acquires, start)
    options: dict[str, object] = {"limit": 300, "window": 5.0, "mode": RateMode.FAIL_FAST}
    if store == "sqlite":
        options["path"] = target
    elif store == "redis":
        options["url"] = target
    limiter = RateLimiter(RateBudget(**options))  # type: ignore[arg-type]
    try:
        await limiter.acquire(0)  # connect (Redis) or open (SQLite) before the clock runs
        await asyncio.sleep(max(start - time.time(), 0.0))
        times = []
        for _ in range(acquires):
            began = time.perf_counter()
            with contextlib.suppress(RateLimited):  # a refusal is a whole decision too
                await limiter.acquire(1)
            times.append(time.perf_counter() - began)
        return times
    finally:
        await limiter.aclose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed: apt-get install -y redis-server")
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--dir", str(folder)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.02)
    process.kill()
    raise SystemExit("redis-server did not start listening")


def measure(store: str, target: str, processes: int, acquires: int) -> list[float]:
    start = time.time() + STARTUP
    argv = [sys.executable, __file__, "--worker", store, "--target", target]
    argv += ["--acquires", str(acquires), "--start", repr(start)]
    workers = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        for _ in range(processes)
    ]
    times: list[float] = []
    for process in workers:
        out, _ = process.communicate(timeout=600)
        if process.returncode:
            raise SystemExit(f"a {store} worker exited with {process.returncode}")
        times += json.loads(out)
    return times


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(share * 1000) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--acquires", type=int, default=2000)
    parser.add_argument("--worker", choices=(*STORES, PING), help=argparse.SUPPRESS)
    parser.add_argument("--target", default="", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        times = asyncio.run(worker(args.worker, args.target, args.acquires, args.start))
        print(json.dumps(times))
        return 0
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        redis, url = start_redis(Path(tmp))
        try:
            targets = {"memory": "", "sqlite": str(Path(tmp) / "budget.db"), "redis": url}
            for store in (*STORES, PING):
                target = targets.get(store, url)
                results[store] = measure(store, target, args.processes, args.acquires)
        finally:
            redis.kill()
            redis.wait()
    floor = percentile(results[PING], 0.99)
    print(f"{args.processes} processes x {args.acquires} acquires each, limit 300 per 5 s")
    print()
    print("| store | p50 (us) | p99 (us) | p99 / PING p99 |")
    print("|---|---:|---:|---:|")
    for store in (PING, *STORES):
        p50, p99 = percentile(results[store], 0.50), percentile(results[store], 0.99)
        print(f"| {store} | {p50 * 1e6:,.0f} | {p99 * 1e6:,.0f} | {p99 / floor:,.1f}x |")
    redis_p99 = percentile(results["redis"], 0.99) * 1000
    verdict = "met" if redis_p99 < GOAL_P99_MS else "NOT met"
    print()
    print(f"Goal: Redis p99 < {GOAL_P99_MS:g} ms on loopback: {verdict} ({redis_p99:.2f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
