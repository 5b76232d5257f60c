"""Benchmark (not a test): ``turnmeter sync`` of 90 days at hour grain by key and customer.

A sandbox (in this process) serves synthetic traffic for 500 customers over 90 days; the
ledger syncs all of it into SQLite and into PostgreSQL (a throwaway server, when its binaries
are installed), then one more hour of traffic arrives and an incremental run (a new client,
as a cron job would be) picks it up. Printed: wall time, Cloudflare queries spent (goal under
300, one 5-minute budget) counted by the sandbox itself, ledger size on disk, and the baseline
measured in the same run: the same grouping fetched once through the query DSL with nothing
stored (sync / baseline is what keeping the ledger costs). Reads: a 90-day per-customer total
from the ledger against the same question asked of the sandbox.

    .venv/bin/python bench/bench_ledger.py                          # 500 customers, 90 days
    .venv/bin/python bench/bench_ledger.py --customers 50 --days 14 # a quick harness check
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from turnmeter import TurnUsage
from turnmeter.ledger import Ledger
from turnmeter.query import Query
from turnmeter.sandbox import Sandbox, SandboxConfig
from turnmeter.sandbox.model import UsageRow, from_epoch
from turnmeter.sandbox.synthetic import TrafficSpec, generate

NOW = datetime(2025, 9, 1, 12, 30, tzinfo=UTC)
KEYS = 3
#: Sessions per customer-day, as bench_sandbox sizes its data (about 1.5 M minute rows here).
SESSIONS = 2.9
#: A budget the run never reaches turns the sandbox's token bucket into a request counter.
COUNTING_BUDGET = 10**9
QUERY_GOAL, INCREMENTAL_GOAL = 300, 2
GROUPING = Query(
    dimensions=("hour", "key_id", "custom_identifier"), metrics=("egress_bytes", "ingress_bytes")
)


def _client(sandbox: Sandbox) -> TurnUsage:
    # The client's own rate budget stays on (Cloudflare's 300 per 5 minutes): the sync must
    # fit in it, and would wait if it did not.
    return TurnUsage(
        account_tag=sandbox.config.account_tag, api_token=sandbox.config.token, endpoint=sandbox.url
    )


def _sent(sandbox: Sandbox) -> int:
    return COUNTING_BUDGET - sandbox.state.engine.budget.remaining()


def _next_hour(spec: TrafficSpec) -> list[UsageRow]:
    later = TrafficSpec(NOW + timedelta(hours=1), spec.seed + 1, 1, KEYS, spec.customers, SESSIONS)
    rows = []
    for row in generate(later):
        minute = from_epoch(row[0])
        if minute >= NOW:
            rows.append(UsageRow(minute, *row[1:]))  # type: ignore[arg-type]
    return rows


class _Writes:
    """Seconds spent in the store's window transactions: the ledger's own share of a sync."""

    def __init__(self) -> None:
        self.seconds = 0.0


def _time_writes(ledger: Ledger) -> _Writes:
    writes = _Writes()
    inner = ledger.store.replace_window

    async def timed(*args: Any) -> None:
        started = time.perf_counter()
        try:
            await inner(*args)
        finally:
            writes.seconds += time.perf_counter() - started

    ledger.store.replace_window = timed  # type: ignore[method-assign]
    return writes


async def _bench_store(
    sandbox: Sandbox, store: str, since: datetime, extra: list[UsageRow]
) -> dict[str, Any]:
    sandbox.set_now(NOW)
    async with _client(sandbox) as turn, Ledger(store, clock=lambda: NOW) as ledger:
        writes = _time_writes(ledger)
        before = _sent(sandbox)
        started = time.perf_counter()
        full = await ledger.sync(turn, since=since)
        wall = time.perf_counter() - started
        sent = _sent(sandbox) - before
        size = await ledger.store.size_bytes()
        started = time.perf_counter()
        answer = await ledger.query(Query(dimensions=("custom_identifier",)), since, NOW)
        read = time.perf_counter() - started
    sandbox.add_rows(extra)
    later = NOW + timedelta(hours=1)
    sandbox.set_now(later)
    async with _client(sandbox) as turn, Ledger(store, clock=lambda: later) as ledger:
        before = _sent(sandbox)
        started = time.perf_counter()
        step = await ledger.sync(turn)
        step_wall = time.perf_counter() - started
        step_sent = _sent(sandbox) - before
    return {
        "wall": wall,
        "writes": writes.seconds,
        "queries": full.queries,
        "sent": sent,
        "windows": full.windows,
        "rows": full.rows,
        "size": size,
        "read": read,
        "customers": len(answer.rows),
        "step_wall": step_wall,
        "step_queries": step.queries,
        "step_sent": step_sent,
        "step_rows": step.rows,
    }


async def _baseline(sandbox: Sandbox, since: datetime) -> tuple[float, float]:
    sandbox.set_now(NOW)
    async with _client(sandbox) as turn:
        await turn.limits_cached()
        started = time.perf_counter()
        await turn.query(GROUPING, since, NOW, clock=lambda: NOW)
        fetch = time.perf_counter() - started
        started = time.perf_counter()
        await turn.query(Query(dimensions=("custom_identifier",)), since, NOW, clock=lambda: NOW)
        ask = time.perf_counter() - started
    return fetch, ask


def _postgres() -> tuple[AbstractContextManager[Any], Callable[[Any], str]] | str:
    try:
        from tests.conftest import CANARY_PG_PASSWORD
        from tests.ledger.postgres import running_postgres
    except ImportError as exc:
        return f"not run: {exc}"
    import os

    os.environ["PGPASSWORD"] = CANARY_PG_PASSWORD
    return running_postgres(CANARY_PG_PASSWORD), lambda server: server.url()


def _line(name: str, r: dict[str, Any], fetch: float) -> str:
    ok = "ok" if r["sent"] < QUERY_GOAL else "MISSED"
    step_ok = "ok" if r["step_sent"] <= INCREMENTAL_GOAL else "MISSED"
    return (
        f"{name:<11} {r['wall']:>7.2f} s  {r['wall'] / fetch:>5.2f}x  {r['writes']:>6.2f} s"
        f"  {r['sent']:>4} ({ok})"
        f"  {r['windows']:>3}  {r['rows']:>9,}  {r['size'] / 1e6:>8.1f} MB"
        f"  {r['step_wall']:>6.2f} s  {r['step_sent']:>2} ({step_ok})  {r['read']:>6.3f} s"
    )


def _sandbox(rows: list[UsageRow]) -> Sandbox:
    return Sandbox(SandboxConfig(rows=rows, now=NOW, rate_limit=COUNTING_BUDGET, rate_window=1e12))


async def main_async(args: argparse.Namespace) -> int:
    spec = TrafficSpec(NOW, 7, args.days, KEYS, args.customers, SESSIONS)
    since = (NOW - timedelta(days=args.days)).replace(minute=0) + timedelta(hours=1)
    started = time.perf_counter()
    rows = [UsageRow(from_epoch(r[0]), *r[1:]) for r in generate(spec)]  # type: ignore[arg-type]
    extra = _next_hour(spec)
    print(
        f"{args.days} days, {args.customers} customers, {KEYS} keys: {len(rows):,} minute rows "
        f"(made in {time.perf_counter() - started:.1f} s); {len(extra):,} rows in the next hour"
    )
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        # Each run gets a sandbox of its own over the same rows (the syncs add an hour to it).
        async with _sandbox(rows) as sandbox:
            fetch, ask = await _baseline(sandbox, since)
        print(f"baseline: the same grouping fetched once, nothing stored: {fetch:.2f} s")
        async with _sandbox(rows) as sandbox:
            results["SQLite"] = await _bench_store(
                sandbox, f"sqlite:///{tmp}/ledger.db", since, extra
            )
        found = _postgres()
        if isinstance(found, str):
            print(f"PostgreSQL: {found}")
        else:
            manager, url = found
            try:
                with manager as server:
                    async with _sandbox(rows) as sandbox:  # the rows without the extra hour
                        results["PostgreSQL"] = await _bench_store(
                            sandbox, url(server), since, extra
                        )
            except BaseException as exc:  # a missing binary skips (pytest's Skipped)
                print(f"PostgreSQL: not run: {type(exc).__name__}: {exc}")
    header = (
        f"{'store':<11} {'sync':>9}  {'/base':>6}  {'writes':>8}  {'queries':>11}"
        f"  {'win':>3}  {'rows':>9}"
        f"  {'on disk':>11}  {'+1 hour':>8}  {'queries':>7}  {'read':>8}"
    )
    print(f"\n{header}\n{'-' * len(header)}")
    for name, result in results.items():
        print(_line(name, result, fetch))
    print(
        "\nsync: wall time, and as a ratio to the baseline; writes: time in the store's window "
        "transactions (the rest is the sandbox answering, on the same cores).\n"
        f"queries: counted by the sandbox (goal < {QUERY_GOAL}); +1 hour: a new client's "
        f"incremental run (goal <= {INCREMENTAL_GOAL}, the node limits included); read: "
        "per-customer totals over the synced range from the ledger (the sandbox answers the "
        f"same in {ask:.3f} s)"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--customers", type=int, default=500)
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
