"""One replica of a fleet, as a real process: ``python -m tests.fleet.worker MODE JSON``.

Modes (the JSON argument carries their settings; the API token comes from the environment):

- ``calls``: ``calls`` distinct concurrent ``total()`` queries through a Redis rate budget;
  prints one JSON line: how many went out, how many the budget refused, other errors.
- ``guard``: a :class:`BudgetGuard` in a fleet, ``checks`` concurrent ``check()`` calls every
  ``every`` seconds for ``duration`` seconds (and ``calls`` budgeted queries each round);
  prints a JSON status line after every round (queries sent, lease held, answers known,
  whether Redis is down for the guard and for the budget).

The Redis URL (a secret) comes from ``TURNMETER_REDIS_URL``, the token from
``CLOUDFLARE_API_TOKEN``. Every worker waits for the wall-clock ``start`` so that the fleet
starts together.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from collections import Counter
from datetime import timedelta
from typing import Any

from tests.usage_data import NOW
from turnmeter import BudgetGuard, RateBudget, RateLimited, RetryPolicy, TurnUsage
from turnmeter.fleet import Fleet, RedisDown
from turnmeter.transport.redis_url import ENV_REDIS_URL


def client(settings: dict[str, Any], total_time: float) -> TurnUsage:
    budget = RateBudget(
        limit=settings["limit"],
        window=settings["window"],
        url=os.environ[ENV_REDIS_URL],
        lock_timeout=settings.get("lock_timeout", 5.0),
        fallback_share=settings.get("share", 0.1),
    )
    return TurnUsage(
        account_tag=settings["account"],
        endpoint=settings["endpoint"],
        rate_budget=budget,
        retry=RetryPolicy(max_attempts=1, total_time=total_time),
        max_concurrency=settings.get("concurrency", 8),
    )


async def wait_for_start(settings: dict[str, Any]) -> None:
    await asyncio.sleep(max(settings["start"] - time.time(), 0.0))


async def calls(settings: dict[str, Any]) -> None:
    seen: Counter[str] = Counter()
    offset = settings["index"] * 100_000
    async with client(settings, settings["total_time"]) as turn:
        await wait_for_start(settings)
        outcomes = await asyncio.gather(
            *(
                turn.total(NOW - timedelta(days=1, seconds=offset + i), NOW)
                for i in range(settings["calls"])
            ),
            return_exceptions=True,
        )
    for outcome in outcomes:
        if isinstance(outcome, RateLimited) and outcome.status is None:
            seen["refused"] += 1
        elif isinstance(outcome, BaseException):
            seen[type(outcome).__name__] += 1
        else:
            seen["sent"] += 1
    print(json.dumps(seen), flush=True)


async def guard(settings: dict[str, Any]) -> None:
    fleet = Fleet(
        os.environ[ENV_REDIS_URL],
        lease_ttl=settings["lease_ttl"],
        on_redis_down=RedisDown(settings.get("on_redis_down", "poll_locally")),
        timeout=settings.get("lock_timeout", 5.0),
    )
    rounds = 0
    async with client(settings, 2.0) as turn:
        watch = BudgetGuard(
            turn, refresh_interval=settings["interval"], fleet=fleet, decision_deadline=0.25
        )
        await wait_for_start(settings)
        async with watch:
            until = time.time() + settings["duration"]
            while time.time() < until:
                rounds += 1
                decisions = await asyncio.gather(
                    *(watch.check(budget_usd=1_000_000) for _ in range(settings["checks"]))
                )
                reasons = Counter(decision.reason for decision in decisions)
                sent = await budgeted_calls(turn, settings, rounds)
                status = {
                    "t": time.time(),
                    "queries": watch.queries,
                    "holder": watch.holds_lease,
                    "known": reasons["under_budget"],
                    "unknown": reasons["unknown"],
                    "fleet_down": watch.fleet_down is not None,
                    "budget_down": turn.transport.limiter is not None
                    and turn.transport.limiter.store_down is not None,
                    "sent": sent,
                }
                print(json.dumps(status), flush=True)
                await asyncio.sleep(settings["every"])
        # Stopped: no refresh is in flight any more, so this count is the process's last word.
        print(json.dumps({**status, "t": time.time(), "queries": watch.queries}), flush=True)


async def budgeted_calls(turn: TurnUsage, settings: dict[str, Any], rounds: int) -> int:
    """A few distinct queries through the rate budget: how many went out."""
    offset = settings["index"] * 100_000 + rounds * 100
    outcomes = await asyncio.gather(
        *(
            turn.total(NOW - timedelta(days=2, seconds=offset + i), NOW)
            for i in range(settings.get("calls", 0))
        ),
        return_exceptions=True,
    )
    return sum(not isinstance(outcome, BaseException) for outcome in outcomes)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s: %(message)s")
    mode, raw = sys.argv[1], sys.argv[2]
    asyncio.run({"calls": calls, "guard": guard}[mode](json.loads(raw)))


if __name__ == "__main__":
    main()
