"""Benchmark (not a test): the sandbox under load, and on a 30-day data set of ~2 million rows.

First :mod:`bench.sandbox_load`: requests/s of the seed's top-keys query over 7 days at 1, 16
and 64 clients against a trivial aiohttp endpoint, and a 10,000-group answer against its SQL
time, all measured in this run. Then the four queries a TURN dashboard runs (month total, top
10 keys, top 100 customers, 30-day hourly series) on ~2 million minute rows, end to end over
HTTP and as SQL alone, against a 0.5 s target.

    .venv/bin/python bench/bench_sandbox.py                 # ~2M rows, 20 keys, 2,000 customers
    .venv/bin/python bench/bench_sandbox.py --customers 200 # smaller, quicker
    .venv/bin/python bench/bench_sandbox.py --explain       # print SQLite's query plans
    .venv/bin/python bench/bench_sandbox.py --load-only     # only the load tables
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import sandbox_load
from turnmeter.sandbox import Sandbox, SandboxConfig
from turnmeter.sandbox.sql import GroupQuery
from turnmeter.sandbox.store import UsageStore
from turnmeter.sandbox.synthetic import TrafficSpec, generate

NOW = datetime(2025, 6, 1, tzinfo=UTC)
TARGET_SECONDS = 0.5
# Chosen so that 30 days x 2,000 customers lands near 2 million minute rows.
SESSIONS_PER_CUSTOMER_DAY = 2.9

NODE = """query($tag: string!, $filter: AccountCallsTurnUsageAdaptiveGroupsFilter_InputObject!,
  $limit: uint64!, $orderBy: [AccountCallsTurnUsageAdaptiveGroupsOrderBy!]) {
  viewer { accounts(filter: {accountTag: $tag}) {
    callsTurnUsageAdaptiveGroups(filter: $filter, limit: $limit, orderBy: $orderBy) { %s } } } }"""

# name -> (selection, dimensions, sums, avgs, orderBy, limit)
CASES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...], list[str], int]] = {
    "month total": (
        "sum { egressBytes ingressBytes }",
        (),
        ("egressBytes", "ingressBytes"),
        (),
        [],
        1,
    ),
    "top 10 keys": (
        "dimensions { keyId } sum { egressBytes }",
        ("keyId",),
        ("egressBytes",),
        (),
        ["sum_egressBytes_DESC"],
        10,
    ),
    "top 100 customers": (
        "dimensions { customIdentifier } sum { egressBytes }",
        ("customIdentifier",),
        ("egressBytes",),
        (),
        ["sum_egressBytes_DESC"],
        100,
    ),
    "30-day hourly series": (
        "dimensions { datetimeHour } sum { egressBytes } avg { concurrentConnectionsHour }",
        ("datetimeHour",),
        ("egressBytes",),
        ("concurrentConnectionsHour",),
        ["datetimeHour_ASC"],
        720,
    ),
}


def _window(days: int) -> dict[str, str]:
    start = NOW - timedelta(days=days)
    return {
        "datetimeMinute_geq": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "datetimeMinute_lt": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _seconds(samples: list[float]) -> str:
    return f"{statistics.median(samples):.3f}"


async def _time_http(sandbox: Sandbox, days: int, repeat: int) -> dict[str, list[float]]:
    headers = {"Authorization": f"Bearer {sandbox.config.token}"}
    results: dict[str, list[float]] = {}
    async with aiohttp.ClientSession() as http:
        for name, (selection, *_, order_by, limit) in CASES.items():
            variables: dict[str, Any] = {
                "tag": sandbox.config.account_tag,
                "filter": _window(days),
                "limit": limit,
                "orderBy": order_by,
            }
            payload = {"query": NODE % selection, "variables": variables}
            samples = []
            for _ in range(repeat):
                started = time.perf_counter()
                async with http.post(sandbox.url, json=payload, headers=headers) as response:
                    body = await response.json()
                samples.append(time.perf_counter() - started)
                assert body["errors"] is None, body["errors"]
            results[name] = samples
    return results


def _time_sql(store: UsageStore, days: int, repeat: int, explain: bool) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}
    for name, (_, dims, sums, avgs, order_by, limit) in CASES.items():
        query = GroupQuery(dims, sums, avgs, _window(days), tuple(order_by), limit)
        query = _with_values(query)
        if explain:
            print(f"{name}: {' | '.join(store.explain(query))}")
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            store.group(query)
            samples.append(time.perf_counter() - started)
        results[name] = samples
    return results


def _with_values(query: GroupQuery) -> GroupQuery:
    """The filter as the resolver passes it: Time values already parsed to datetimes."""
    parsed = {
        key: datetime.fromisoformat(value.replace("Z", "+00:00"))
        for key, value in query.filter.items()
    }
    return GroupQuery(query.dimensions, query.sums, query.avgs, parsed, query.order_by, query.limit)


#: Issue 14's goals for the load tables: the big answer within this many times its SQL time,
#: and this many TopKeysByEgress requests/s at GOAL_CLIENTS clients.
GOAL_HTTP_OVER_SQL = 2.0
GOAL_RATE = 500
GOAL_CLIENTS = 16


def _load_tables(rates: list[dict[str, Any]], big: dict[str, Any], rounds: int) -> list[str]:
    """The lines bench.sandbox_load.report prints, from its measurements."""
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
    return [
        *lines,
        "",
        f"minute x datacenter over 7 days: {big['groups']:,} groups, {big['bytes']:,} bytes, "
        f"median of {rounds} interleaved rounds",
        f"SQL alone {big['sql']:.3f} s, over HTTP {big['http']:.3f} s, "
        f"HTTP/SQL {big['http'] / big['sql']:.2f}",
        f"plan: {big['plan']}",
    ]


def _load_report(rounds: int) -> list[str]:
    """bench.sandbox_load's two tables, then each goal with its measured ratio and verdict."""
    rates = asyncio.run(sandbox_load.throughput(rounds))
    big = asyncio.run(sandbox_load.big_answer(rounds))
    lines = _load_tables(rates, big, rounds)
    rate = next(row["sandbox"] for row in rates if row["clients"] == GOAL_CLIENTS)
    ratio = big["http"] / big["sql"]
    return [
        *lines,
        "",
        f"goal: 10,000 groups over HTTP <= {GOAL_HTTP_OVER_SQL:.1f} x SQL: {ratio:.2f} x "
        f"({'ok' if ratio <= GOAL_HTTP_OVER_SQL else 'MISSED'})",
        f"goal: >= {GOAL_RATE} req/s at {GOAL_CLIENTS} clients: {rate:.0f} req/s, "
        f"{rate / GOAL_RATE:.2f} x the goal ({'ok' if rate >= GOAL_RATE else 'MISSED'})",
    ]


def main() -> int:
    """Build the data set, run the queries, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--keys", type=int, default=20)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--sessions", type=float, default=SESSIONS_PER_CUSTOMER_DAY)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--explain", action="store_true", help="print SQLite's query plans")
    parser.add_argument("--load-rounds", type=int, default=7, help="rounds of the load tables")
    parser.add_argument("--load-only", action="store_true", help="skip the 2M-row data set")
    args = parser.parse_args()
    print("\n".join(_load_report(args.load_rounds)), flush=True)
    if args.load_only:
        return 0
    print()

    spec = TrafficSpec(NOW, 7, args.days, args.keys, args.customers, args.sessions)
    started = time.perf_counter()
    rows = generate(spec)
    generated = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite"
        started = time.perf_counter()
        UsageStore.create(rows, path).close()
        stored = time.perf_counter() - started
        print(f"{len(rows):,} rows: generated in {generated:.2f} s, stored in {stored:.2f} s")
        del rows
        store = UsageStore.open(path)
        sql = _time_sql(store, args.days, args.repeat, args.explain)
        store.close()
        config = SandboxConfig(database=path, now=NOW, rate_limit=None)

        async def over_http() -> dict[str, list[float]]:
            async with Sandbox(config) as sandbox:
                return await _time_http(sandbox, args.days, args.repeat)

        http = asyncio.run(over_http())

    print(f"\nmedian of {args.repeat} runs, seconds (target < {TARGET_SECONDS})")
    print(f"{'query':<22} {'SQL':>7} {'HTTP':>7}  {'HTTP/SQL':>8}  target")
    for name in CASES:
        sql_s, http_s = statistics.median(sql[name]), statistics.median(http[name])
        verdict = "ok" if http_s < TARGET_SECONDS else "MISSED"
        print(
            f"{name:<22} {_seconds(sql[name]):>7} {_seconds(http[name]):>7}"
            f"  {http_s / sql_s:>8.2f}  {verdict}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
