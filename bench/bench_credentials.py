"""Benchmark (not a test): minting TURN credentials through ``issue()`` with a warm guard.

Against a local sandbox (in this process, over loopback HTTP) it measures, interleaved in
rounds, medians per call:

* ``issue()`` without a guard: the HTTP round trip, the baseline;
* ``issue()`` with a warm account guard (and with a customer cap as well);
* the decision alone (``TurnCredentials.decide``): what the guard adds to every call;
* ``issue()`` refused under STUN-only: decisions per second when nothing is sent;

and prints decisions per second through ``issue()`` (one at a time and with 32 in flight), and
the guard's cost as a fraction of the round trip (goal: under 1 %).

    .venv/bin/python bench/bench_credentials.py               # 7 rounds of 200 calls
    .venv/bin/python bench/bench_credentials.py --rounds 3 --calls 50
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal

from turnmeter import (
    BudgetGuard,
    CustomerMeter,
    IssuePolicy,
    OnRefusal,
    TurnCredentials,
    TurnUsage,
)
from turnmeter.sandbox import Sandbox, SandboxConfig

NOW = datetime(2025, 6, 1, tzinfo=UTC)
KEY_ID = "bench0key"
#: A refresh interval longer than the run: the guard stays warm and never queries mid-bench.
WARM = 3600.0
IN_FLIGHT = 32
#: Calls a round for the cases that send nothing, per call of the HTTP cases.
LOCAL = 20
GOAL = 0.01

Call = Callable[[], Awaitable[object]]


async def per_call(call: Call, calls: int) -> float:
    gc.collect()
    started = time.perf_counter()
    for _ in range(calls):
        await call()
    return (time.perf_counter() - started) / calls


async def burst(call: Call, calls: int) -> float:
    """Seconds per call with IN_FLIGHT calls at once."""
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one() -> None:
        async with gate:
            await call()

    gc.collect()
    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(calls)))
    return (time.perf_counter() - started) / calls


async def run(rounds: int, calls: int) -> dict[str, list[float]]:
    config = SandboxConfig(now=NOW, rate_limit=None, days=3, customers=20)
    async with Sandbox(config) as sandbox:
        turn = TurnUsage(
            account_tag=config.account_tag, api_token=config.token, endpoint=sandbox.url
        )
        guard = BudgetGuard(turn, clock=lambda: NOW, refresh_interval=WARM, max_staleness=WARM)
        meter = CustomerMeter(turn, clock=lambda: NOW, refresh_interval=WARM, max_staleness=WARM)
        await guard.refresh()
        await meter.guard_for("acme").refresh()
        common = {"key_id": KEY_ID, "key_token": config.turn_key_token, "endpoint": sandbox.rtc_url}
        bare = TurnCredentials(**common)
        guarded = TurnCredentials(**common, guard=guard, policy=IssuePolicy(budget_usd=250))
        capped = TurnCredentials(
            **common,
            guard=guard,
            customers=meter,
            policy=IssuePolicy(budget_usd=250, customer_caps_gb={"acme": 10**6}),
        )
        refusing = TurnCredentials(
            **common,
            guard=guard,
            policy=IssuePolicy(budget_usd=Decimal(0), on_refusal=OnRefusal.STUN_ONLY),
        )
        cases: dict[str, Callable[[], Awaitable[float]]] = {
            "issue, no guard": lambda: per_call(lambda: bare.issue(ttl=60), calls),
            "issue, warm guard": lambda: per_call(lambda: guarded.issue(ttl=60), calls),
            "issue, guard + cap": lambda: per_call(
                lambda: capped.issue(custom_identifier="acme", ttl=60), calls
            ),
            # No HTTP: many more calls a round, so that one scheduling hiccup is not the round.
            "decide, guard": lambda: per_call(guarded.decide, calls * LOCAL),
            "decide, guard + cap": lambda: per_call(lambda: capped.decide("acme"), calls * LOCAL),
            "issue refused (STUN only)": lambda: per_call(
                lambda: refusing.issue(ttl=60), calls * LOCAL
            ),
            f"issue, warm guard, {IN_FLIGHT} in flight": lambda: burst(
                lambda: guarded.issue(ttl=60), calls
            ),
        }
        for case in cases.values():  # warm up: connections, code paths
            await case()
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for index in range(rounds):
            names = list(cases)
            order = names[index % len(names) :] + names[: index % len(names)]
            for name in order:
                samples[name].append(await cases[name]())
        for client in (bare, guarded, capped, refusing):
            await client.close()
        await meter.close()
        await turn.close()
    return samples


def report(samples: dict[str, list[float]], rounds: int, calls: int) -> None:
    median = {name: statistics.median(values) for name, values in samples.items()}
    base = median["issue, no guard"]
    print(f"median of {rounds} rounds x {calls} calls, local sandbox over loopback HTTP")
    print("(the sandbox runs in the same process and event loop: the shortest round trip)")
    print(f"{'case':<34} {'us/call':>9} {'calls/s':>9} {'x round trip':>13}")
    for name, seconds in median.items():
        print(f"{name:<34} {seconds * 1e6:>9.1f} {1 / seconds:>9.0f} {seconds / base:>13.4f}")
    for label, decide in (("guard", "decide, guard"), ("guard + cap", "decide, guard + cap")):
        share = median[decide] / base
        verdict = "ok" if share < GOAL else "MISSED"
        print(
            f"{label} adds {median[decide] * 1e6:.1f} us per call = {share:.2%} of the round "
            f"trip (goal < {GOAL:.0%}): {verdict}; under 1 % of any round trip longer than "
            f"{median[decide] / GOAL * 1e3:.2f} ms"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args(argv)
    samples = asyncio.run(run(args.rounds, args.calls))
    report(samples, args.rounds, args.calls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
