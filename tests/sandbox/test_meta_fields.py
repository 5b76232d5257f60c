"""``cost``, ``viewer.budget`` and the ALPHA ``confidence`` block."""

from __future__ import annotations

import aiohttp

from tests.sandbox.conftest import post
from turnmeter.sandbox import Sandbox

QUERY = """query($t: string!, $skip: Boolean!) { cost viewer { budget
 accounts(filter: {accountTag: $t}) {
 a: callsTurnUsageAdaptiveGroups(filter: {date: "2025-03-08"}, limit: 2) {
     sum { egressBytes }
     confidence(level: 0.95) {
       level sum { egressBytes { estimate lower upper sampleSize isValid } } }
   }
   b: callsTurnUsageAdaptiveGroups(filter: {date: "2025-03-08"}, limit: 2) @skip(if: $skip) {
     sum { egressBytes } } } } }"""


async def test_cost_counts_executed_turn_nodes(
    http: aiohttp.ClientSession, awkward: Sandbox
) -> None:
    for skip, cost in ((True, 1), (False, 2)):
        _, body = await post(http, awkward, QUERY, {"t": awkward.config.account_tag, "skip": skip})
        assert body["data"]["cost"] == cost
        assert body["data"]["viewer"]["budget"] == 1_000_000  # this sandbox has no rate limit


async def test_confidence_is_exact(http: aiohttp.ClientSession, awkward: Sandbox) -> None:
    _, body = await post(http, awkward, QUERY, {"t": awkward.config.account_tag, "skip": True})
    [group] = body["data"]["viewer"]["accounts"][0]["a"]
    egress = group["sum"]["egressBytes"]
    confidence = group["confidence"]
    assert confidence["level"] == 0.95
    interval = confidence["sum"]["egressBytes"]
    assert interval["estimate"] == interval["lower"] == interval["upper"] == egress
    assert interval["isValid"] is True
    day_rows = [r for r in awkward.rows() if r.minute.date().isoformat() == "2025-03-08"]
    assert interval["sampleSize"] == len(day_rows)
