"""The example queries of Cloudflare's TURN analytics docs page, unchanged but for variables.

Each runs against the default synthetic data set and must equal the brute-force answer.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.sandbox import brute
from tests.sandbox.conftest import post
from turnmeter.sandbox import Sandbox

# Cloudflare's text, with only the literal values replaced by declared variables.
HEAD = """query($accountTag: string!, $start: Time!, $end: Time!, $limit: uint64!%s){ viewer {
 usage: accounts(filter: { accountTag: $accountTag }) { callsTurnUsageAdaptiveGroups(
 filter: { datetimeMinute_gt: $start datetimeMinute_lt: $end %s } limit: $limit orderBy: %s ) {
 %s } } } }"""

DOCS_QUERIES: dict[str, tuple[str, dict[str, Any]]] = {
    "top keys by egress": (
        HEAD % ("", "", "[sum_egressBytes_DESC]", "dimensions { keyId } sum { egressBytes }"),
        {"limit": 2},
    ),
    "top custom identifiers": (
        HEAD
        % ("", "", "[sum_egressBytes_DESC]", "dimensions { customIdentifier } sum { egressBytes }"),
        {"limit": 100},
    ),
    "one custom identifier": (
        HEAD
        % (
            ", $customIdentifier: string!",
            "customIdentifier: $customIdentifier",
            "[]",
            "dimensions { keyId customIdentifier } sum { egressBytes }",
        ),
        {"limit": 100, "customIdentifier": "customer-0003"},
    ),
    "time series": (
        HEAD
        % ("", "", "[datetimeMinute_ASC]", "dimensions { datetimeMinute } sum { egressBytes }"),
        {"limit": 100},
    ),
    "geography breakdown": (
        HEAD
        % (
            "",
            "",
            "[sum_egressBytes_DESC]",
            "dimensions { datacenterRegion datacenterCountry datacenterCity }"
            " sum { egressBytes ingressBytes }",
        ),
        {"limit": 50},
    ),
    "concurrent connections by five minutes": (
        HEAD
        % (
            "",
            "",
            "[datetimeFiveMinutes_ASC]",
            "dimensions { datetimeFiveMinutes } avg { concurrentConnectionsFiveMinutes }",
        ),
        {"limit": 300},
    ),
}


def _expected(rows: list[Any], variables: dict[str, Any], query: str) -> list[dict[str, Any]]:
    node_filter: dict[str, Any] = {
        "datetimeMinute_gt": variables["start"],
        "datetimeMinute_lt": variables["end"],
    }
    if "customIdentifier" in variables:
        node_filter["customIdentifier"] = variables["customIdentifier"]
    selection = query.split(") {")[-1]
    dims_text = selection.split("dimensions {")[1].split("}")[0]
    dims = dims_text.split()
    sums = [s for s in ("egressBytes", "ingressBytes") if s in selection]
    avgs = [a for a in brute.AVG_WIDTHS if a in selection]
    order = query.split("orderBy: ")[1].split(" )")[0].strip("[]").split()
    return brute.aggregate(rows, node_filter, dims, sums, avgs, order, variables["limit"])


@pytest.mark.parametrize("name", list(DOCS_QUERIES))
async def test_docs_query_answers_like_brute_force(
    http: aiohttp.ClientSession, synthetic: Sandbox, name: str
) -> None:
    query, extra = DOCS_QUERIES[name]
    variables = {
        "accountTag": synthetic.config.account_tag,
        # the docs' own odd seconds, moved into the sandbox's week
        "start": "2025-03-08T02:07:07Z",
        "end": "2025-03-09T02:07:05Z",
        **extra,
    }
    status, body = await post(http, synthetic, query, variables)
    assert status == 200, body
    assert body["errors"] is None
    groups = body["data"]["viewer"]["usage"][0]["callsTurnUsageAdaptiveGroups"]
    assert groups, "the synthetic week has traffic in this window"
    assert groups == _expected(synthetic.rows(), variables, query)


async def test_top_keys_are_ranked_by_egress(
    http: aiohttp.ClientSession, synthetic: Sandbox
) -> None:
    query, _ = DOCS_QUERIES["top keys by egress"]
    variables = {
        "accountTag": synthetic.config.account_tag,
        "start": "2025-03-02T12:30:00Z",
        "end": "2025-03-09T12:30:00Z",
        "limit": 10,
    }
    _, body = await post(http, synthetic, query, variables)
    groups = body["data"]["viewer"]["usage"][0]["callsTurnUsageAdaptiveGroups"]
    egress = [g["sum"]["egressBytes"] for g in groups]
    assert len(groups) == 3  # the default data set has three keys
    assert egress == sorted(egress, reverse=True)
    assert sum(egress) == sum(r.egress_bytes for r in synthetic.rows())
