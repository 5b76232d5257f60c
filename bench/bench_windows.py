"""Benchmark (not a test): a 90-day minute series through windows and keyset pages.

The sandbox runs in its own process (so its SQL and JSON do not share the client's core) over
129,600 rows, one per minute for one key, with its default node limits (31-day windows, pages
of 10,000). The client asks ``Query(dimensions=["minute"], metrics=["egress_bytes"])`` over the
whole 90 days with ``query()`` and with ``stream()``. Time inside ``transport.post`` (sending
and awaiting the server's whole answer) is the server's share; everything else, from planning
through JSON decoding to typed rows, is the client's own overhead. With ``concurrency=1`` the
two add up to the wall time exactly, so that run gives the overhead share; the ``concurrency=4``
run shows what overlapping windows buys.

    .venv/bin/python bench/bench_windows.py [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.minute_sandbox import ChildFailed, receive, serve_minutes
from turnmeter import TurnUsage
from turnmeter.query import Query
from turnmeter.transport.ratelimit import RateBudget

NOW = datetime(2025, 12, 1, tzinfo=UTC)
DAYS = 90
SINCE = NOW - timedelta(days=DAYS)
DEFAULT_RUNS = 3
SERVER_START_SECONDS = 120
QUERY = Query(dimensions=["minute"], metrics=["egress_bytes"])


class Timed:
    """Wraps ``transport.post`` and sums the seconds spent awaiting it."""

    def __init__(self, turn: TurnUsage) -> None:
        self.seconds = 0.0
        self.requests = 0
        inner = turn.transport.post

        async def post(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await inner(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.requests += 1

        turn.transport.post = post  # type: ignore[method-assign]


async def one_run(endpoint: tuple[str, str, str], mode: str, concurrency: int) -> dict[str, float]:
    url, account, token = endpoint
    async with TurnUsage(
        account_tag=account, api_token=token, endpoint=url, rate_budget=RateBudget(limit=None)
    ) as turn:
        await turn.limits_cached()  # read once per client; not part of the series
        timed = Timed(turn)
        clock = lambda: NOW  # noqa: E731
        started = time.perf_counter()
        if mode == "query":
            rows = len(await turn.query(QUERY, SINCE, NOW, concurrency=concurrency, clock=clock))
        else:
            rows = 0
            async for _row in turn.stream(QUERY, SINCE, NOW, concurrency=concurrency, clock=clock):
                rows += 1
        total = time.perf_counter() - started
    return {"total": total, "server": timed.seconds, "rows": rows, "requests": timed.requests}


def report(label: str, runs: list[dict[str, float]], sequential: bool) -> None:
    best = sorted(runs, key=lambda r: r["total"])[len(runs) // 2]  # the median run
    rows, requests = int(best["rows"]), int(best["requests"])
    line = f"{label:<22} {rows:>7} rows {requests:>3} requests  total {best['total']:.3f} s"
    if sequential:
        own = best["total"] - best["server"]
        line += (
            f"  awaiting server {best['server']:.3f} s  client {own:.3f} s"
            f" ({own / best['total']:.0%} of total, {own / rows * 1e6:.2f} us/row)"
        )
    print(line)


async def main_async(endpoint: tuple[str, str, str], runs: int) -> None:
    for mode in ("query", "stream"):
        for concurrency in (1, 4):
            results = [await one_run(endpoint, mode, concurrency) for _ in range(runs)]
            report(f"{mode} concurrency={concurrency}", results, sequential=concurrency == 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    port_queue = context.Queue()
    server = context.Process(
        target=serve_minutes, args=(NOW, DAYS * 24 * 60, port_queue), daemon=True
    )
    server.start()
    try:
        endpoint = receive(port_queue, server, SERVER_START_SECONDS, "the sandbox process")
        print(f"{DAYS}-day minute series, one key, sandbox defaults (31-day windows, pages of 10k)")
        asyncio.run(main_async(endpoint, args.runs))
    except ChildFailed as exc:
        print(f"bench_windows: {exc}", file=sys.stderr)
        return 1
    finally:
        server.terminate()
        server.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
