"""Benchmark (not a test): does the DSL's cost per row stay flat from 100 to 100,000 rows?

The prepared-answers server (``bench/server.py``, its own process) serves the five-field answer
at 100, 1,000, 10,000 and 100,000 rows (its ``maxPageSize`` is then 100,000, so each size is
one request). Three contenders ask for the same rows, interleaved in shuffled rounds: the
five-field floor (aiohttp + ``json.loads``), ``TurnUsage.query()`` and ``TurnUsage.stream()``
(the same query without ``order_by``). Printed per size: microseconds per row and the ratio to
the floor; then each contender's cost per row at every size over its cost at 10,000 rows
(linear = flat; the 100-row column carries the per-request overhead).

    .venv/bin/python bench/bench_scaling.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.contenders import Turnmeter, wide_floor
from bench.run import start_server
from bench.timing import Counter, sequential

SIZES = (100, 1_000, 10_000, 100_000)
#: (rounds, requests per round) by size: about the same time per round.
PLAN = {100: (9, 40), 1_000: (9, 10), 10_000: (9, 2), 100_000: (7, 1)}
REFERENCE = 10_000


async def measure(quick: bool) -> tuple[list[str], dict[int, dict[str, float]]]:
    server, url = start_server(SIZES)
    contenders = [
        wide_floor(),
        Turnmeter("TurnUsage.query()", "dsl"),
        Turnmeter("TurnUsage.stream()", "stream"),
    ]
    counter = Counter()
    per_row: dict[int, dict[str, float]] = {}
    try:
        for contender in contenders:
            await contender.setup(url)
        for contender in contenders:  # warm up, and check every contender gets every row
            for rows in SIZES:
                got = await contender.fetch(rows, counter.next())
                assert len(got) == rows, f"{contender.name}: {len(got)} rows, not {rows}"
        for rows in SIZES:
            rounds, reps = PLAN[rows]
            rounds = max(3, rounds // 3) if quick else rounds
            timings = await sequential(contenders, rows, rounds, reps, counter)
            per_row[rows] = {c.name: timings.median(c.name) / rows for c in contenders}
    finally:
        for contender in contenders:
            await contender.close()
        server.kill()
        server.wait()
    return [c.name for c in contenders], per_row


def report(names: list[str], per_row: dict[int, dict[str, float]]) -> list[str]:
    floor = names[0]
    lines = ["five fields (minute, key, datacenter, egress, ingress), one request per call"]
    lines.append(f"{'rows':>8} " + " ".join(f"{name:>28}" for name in names))
    for rows, costs in per_row.items():
        cells = [f"{costs[floor] * 1e6:8.2f} us/row (1.00x)"]
        cells += [
            f"{costs[n] * 1e6:8.2f} us/row ({costs[n] / costs[floor]:.2f}x)" for n in names[1:]
        ]
        lines.append(f"{rows:>8,} " + " ".join(f"{cell:>28}" for cell in cells))
    lines.append("")
    lines.append(f"cost per row over the cost per row at {REFERENCE:,} rows (flat = linear)")
    for name in names:
        ratios = [per_row[rows][name] / per_row[REFERENCE][name] for rows in per_row]
        lines.append(f"{name:>28} " + " ".join(f"{r:6.2f}" for r in ratios))
    worst = max(
        per_row[rows][name] / per_row[REFERENCE][name] for rows in (100_000,) for name in names[1:]
    )
    lines.append(f"DSL at 100,000 rows costs {worst:.2f}x its per-row cost at 10,000 (goal: flat)")
    # Ten times the rows is ten times the memory touched: the floor's own cost per row grows as
    # well, so the ratio to the floor in the same run tells whether the DSL adds any growth.
    growth = per_row[100_000][floor] / per_row[REFERENCE][floor]
    for name in names[1:]:
        at = [per_row[rows][name] / per_row[rows][floor] for rows in (REFERENCE, 100_000)]
        lines.append(
            f"{name} x the floor: {at[0]:.2f} at 10,000 rows, {at[1]:.2f} at 100,000 (the "
            f"floor's own cost per row grows {growth:.2f}x): "
            + ("no growth of its own" if at[1] <= at[0] * 1.1 else "grows faster than the floor")
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (harness check)")
    args = parser.parse_args()
    names, per_row = asyncio.run(measure(args.quick))
    print("\n".join(report(names, per_row)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
