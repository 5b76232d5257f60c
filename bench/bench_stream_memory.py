"""Benchmark (not a test): a 1,000,000-row minute series streamed in bounded memory.

A sandbox in its own process holds one row per minute for 1,000,000 minutes (about 694 days,
with ``notOlderThan`` raised to cover them). Each client runs in a fresh process, so its peak
RSS (``ru_maxrss``) is its own: one consumes ``TurnUsage.stream()`` row by row, keeping only a
running sum; the other calls ``TurnUsage.query()`` and holds every row, for comparison. Both go
through 31-day windows and pages of 10,000, the sandbox's (Cloudflare's) defaults.

    .venv/bin/python bench/bench_stream_memory.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.minute_sandbox import ChildFailed, receive, serve_minutes

NOW = datetime(2026, 1, 1, tzinfo=UTC)
DEFAULT_ROWS = 1_000_000
SERVER_START_SECONDS = 600
CLIENT_SECONDS = 1800


def _client(endpoint: tuple[str, str, str], rows: int, mode: str, out: Any) -> None:
    from turnmeter import Query, RateBudget, TurnUsage

    async def pull() -> dict[str, Any]:
        url, account, token = endpoint
        since = NOW - timedelta(minutes=rows)
        query = Query(dimensions=["minute"], metrics=["egress_bytes"])
        started = time.perf_counter()
        async with TurnUsage(
            account_tag=account, api_token=token, endpoint=url, rate_budget=RateBudget(limit=None)
        ) as turn:
            seen = total = 0
            if mode == "stream":
                async for row in turn.stream(query, since, NOW, clock=lambda: NOW):
                    seen += 1
                    total += row.egress_bytes
            else:
                held = await turn.query(query, since, NOW, clock=lambda: NOW)
                seen, total = len(held), sum(row.egress_bytes for row in held)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        return {
            "mode": mode,
            "rows": seen,
            "egress": total,
            "peak_mb": round(peak, 1),
            "seconds": round(time.perf_counter() - started, 2),
        }

    out.put(asyncio.run(pull()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    server = context.Process(
        target=serve_minutes, args=(NOW, args.rows, queue, (args.rows + 2 * 1440) * 60), daemon=True
    )
    server.start()
    try:
        endpoint = receive(queue, server, SERVER_START_SECONDS, "the sandbox process")
        results = []
        for mode in ("stream", "query"):
            client = context.Process(target=_client, args=(endpoint, args.rows, mode, queue))
            client.start()
            results.append(receive(queue, client, CLIENT_SECONDS, f"the {mode}() client"))
            client.join()
        print(json.dumps(results, indent=2))
        stream, held = results
        if stream["egress"] != held["egress"] or stream["rows"] != args.rows:
            print("bench_stream_memory: stream and query disagree", file=sys.stderr)
            return 1
        print(
            f"{args.rows:,} rows: stream peak {stream['peak_mb']} MB in {stream['seconds']} s; "
            f"query (all rows held) peak {held['peak_mb']} MB in {held['seconds']} s"
        )
    except ChildFailed as exc:
        print(f"bench_stream_memory: {exc}", file=sys.stderr)
        return 1
    finally:
        server.terminate()
        server.join()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
