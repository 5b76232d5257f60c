"""``avg.concurrentConnections<X>`` means concurrency: checked against the sessions themselves.

The expected values here are computed from :class:`Session` values (when each opens and closes,
how many connections it holds), never from the rows the sandbox stores.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import aiohttp
import pytest

from tests.sandbox.conftest import SECRET, post
from turnmeter.sandbox import Sandbox, SandboxConfig
from turnmeter.sandbox.synthetic import Session, TrafficSpec, sessions, usage_rows

NOW = datetime(2025, 6, 1, tzinfo=UTC)
ACCOUNT = SandboxConfig().account_tag
WIDTHS = {"Minute": 1, "FiveMinutes": 5, "FifteenMinutes": 15, "Hour": 60}

QUERY = """
query($account: string!, $since: Time!, $until: Time!, $customer: string) {
  viewer { accounts(filter: {accountTag: $account}) {
    callsTurnUsageAdaptiveGroups(limit: 10000, filter: {
        datetimeMinute_geq: $since, datetimeMinute_lt: $until, customIdentifier: $customer}) {
      %s
      avg { concurrentConnectionsMinute concurrentConnectionsFiveMinutes
            concurrentConnectionsFifteenMinutes concurrentConnectionsHour }
    }
  } }
}
"""


def steady(count: int, start: datetime, hours: int) -> list[Session]:
    """``count`` sessions of one connection each, all open for the whole ``hours``."""
    minutes = hours * 60
    return [
        Session(
            start=int(start.timestamp()),
            connections=1,
            key_id="k" * 32,
            username=f"user-{index}",
            custom_identifier="steady",
            datacenter=index % 3,
            egress=(1_000_000,) * minutes,
            ingress=(900_000,) * minutes,
        )
        for index in range(count)
    ]


def expected_average(traffic: Iterable[Session], width_minutes: int) -> int:
    """Mean over the X-buckets that have traffic of (connection-minutes in it / its minutes)."""
    per_bucket: dict[int, int] = defaultdict(int)
    for session in traffic:
        for step in range(session.minutes):
            minute = (session.start + 60 * step) // 60
            per_bucket[minute - minute % width_minutes] += session.connections
    if not per_bucket:
        return 0
    total = sum(per_bucket.values())
    divisor = width_minutes * len(per_bucket)
    return (2 * total + divisor) // (2 * divisor)  # round half up, like uint64 in the answer


async def averages(
    http: aiohttp.ClientSession,
    sandbox: Sandbox,
    since: datetime,
    until: datetime,
    *,
    dimensions: str = "",
    customer: str | None = None,
) -> list[dict[str, Any]]:
    variables = {
        "account": ACCOUNT,
        "since": since.isoformat().replace("+00:00", "Z"),
        "until": until.isoformat().replace("+00:00", "Z"),
        "customer": customer,
    }
    status, body = await post(http, sandbox, QUERY % dimensions, variables)
    assert status == 200, body
    groups: list[dict[str, Any]] = body["data"]["viewer"]["accounts"][0][
        "callsTurnUsageAdaptiveGroups"
    ]
    return groups


async def test_steady_sessions_read_the_same_at_every_width(http: aiohttp.ClientSession) -> None:
    start = NOW - timedelta(hours=6)
    config = SandboxConfig(token=SECRET, now=NOW, rows=usage_rows(steady(5, start, 6)))
    async with Sandbox(config) as sandbox:
        (whole,) = await averages(http, sandbox, start, NOW)
        assert whole["avg"] == {f"concurrentConnections{w}": 5 for w in WIDTHS}
        # per hour, and per 15 minutes, the same five connections are open all the time
        for dims in ("dimensions { datetimeHour }", "dimensions { datetimeFifteenMinutes }"):
            groups = await averages(http, sandbox, start, NOW, dimensions=dims)
            assert groups
            assert all(set(g["avg"].values()) == {5} for g in groups)


async def test_synthetic_concurrency_matches_the_sessions(http: aiohttp.ClientSession) -> None:
    spec = TrafficSpec(now=NOW, days=2, customers=12)
    traffic = sessions(spec)
    config = SandboxConfig(token=SECRET, now=NOW, days=2, customers=12, rate_limit=None)
    since, until = NOW - timedelta(days=2), NOW
    async with Sandbox(config) as sandbox:
        (whole,) = await averages(http, sandbox, since, until)
        for name, width in WIDTHS.items():
            assert whole["avg"][f"concurrentConnections{name}"] == expected_average(traffic, width)
        busiest = max(
            {s.custom_identifier for s in traffic},
            key=lambda c: sum(s.minutes for s in traffic if s.custom_identifier == c),
        )
        (one,) = await averages(http, sandbox, since, until, customer=busiest)
        mine = [s for s in traffic if s.custom_identifier == busiest]
        for name, width in WIDTHS.items():
            assert one["avg"][f"concurrentConnections{name}"] == expected_average(mine, width)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_a_coarser_bucket_never_reads_more_than_a_finer_one(
    http: aiohttp.ClientSession, seed: int
) -> None:
    config = SandboxConfig(token=SECRET, now=NOW, seed=seed, days=1, customers=6)
    async with Sandbox(config) as sandbox:
        since = NOW - timedelta(days=1)
        dims = "dimensions { customIdentifier }"
        groups = await averages(http, sandbox, since, NOW, dimensions=dims)
    assert groups
    for group in groups:
        values = [group["avg"][f"concurrentConnections{name}"] for name in WIDTHS]
        assert all(later <= earlier for earlier, later in pairwise(values))
