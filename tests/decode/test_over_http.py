"""Over real HTTP (the sandbox): the facade's fast path against the generated client's."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from cf_analytics import Client as GeneratedClient

from tests.decode.oracle import CASES, group_for, response
from tests.usage_data import NOW, START
from turnmeter import MalformedResponse, TurnUsage
from turnmeter.query.filters import compose_filter
from turnmeter.rows import CustomerKeyUsage, CustomerUsage, KeyUsage, SeriesPoint, UsageTotals
from turnmeter.sandbox import Fault, Sandbox


async def test_fast_rows_equal_the_generated_clients_rows(turn: TurnUsage) -> None:
    slow = GeneratedClient(turn.transport)
    tag, flt = turn.settings.account_tag, compose_filter(START, NOW)

    def groups(result: object) -> list[object]:
        return result.viewer.accounts[0].calls_turn_usage_adaptive_groups  # type: ignore[attr-defined]

    keys = groups(await slow.top_keys_by_egress(tag, flt, 5))
    assert await turn.top_keys(START, NOW, limit=5) == [
        KeyUsage(g.dimensions.key_id, g.sum.egress_bytes) for g in keys
    ]
    customers = groups(await slow.top_custom_identifiers(tag, flt, 5))
    assert await turn.top_custom_identifiers(START, NOW, limit=5) == [
        CustomerUsage(g.dimensions.custom_identifier, g.sum.egress_bytes) for g in customers
    ]
    tango = groups(await slow.usage_for_custom_identifier(tag, "tango", flt, 100))
    assert await turn.usage_for_custom_identifier("tango", START, NOW, limit=100) == [
        CustomerKeyUsage(g.dimensions.custom_identifier, g.dimensions.key_id, g.sum.egress_bytes)
        for g in tango
    ]
    series = groups(await slow.usage_timeseries(tag, flt, 10_000))
    assert await turn.timeseries(START, NOW) == [
        SeriesPoint(g.dimensions.datetime_minute, g.sum.egress_bytes) for g in series
    ]
    total = groups(await slow.usage_total(tag, flt, 1))[0]
    assert await turn.total(START, NOW) == UsageTotals(
        total.sum.egress_bytes, total.sum.ingress_bytes
    )


def body(data: object) -> str:
    return json.dumps({"data": data})


@pytest.mark.parametrize(
    ("egress", "message"),
    # The decoder, run inside the transport's attempt, is the only check of the answer.
    [("12", "int64"), (None, "sum.egressBytes is null"), (1.5, "int64")],
)
async def test_a_served_bad_value_is_a_malformed_response_naming_its_path(
    fresh_sandbox: Sandbox, egress: object, message: str
) -> None:
    case = CASES["UsageTimeseries"]
    groups = [group_for(case, i) for i in range(3)]
    groups[2]["sum"]["egressBytes"] = egress
    fresh_sandbox.faults.push(Fault.status(200, body=body(response(groups))))
    async with client(fresh_sandbox) as turn:
        with pytest.raises(MalformedResponse) as caught:
            await turn.timeseries(START, NOW)
    assert "callsTurnUsageAdaptiveGroups[2].sum.egressBytes" in str(caught.value)
    assert message in str(caught.value)


async def test_a_served_good_body_decodes(fresh_sandbox: Sandbox) -> None:
    case = CASES["TopKeysByEgress"]
    groups = [group_for(case, i) for i in range(4)]
    fresh_sandbox.faults.push(Fault.status(200, body=body(response(groups))))
    async with client(fresh_sandbox) as turn:
        got = await turn.top_keys(NOW - timedelta(hours=1), NOW)
    assert got == [KeyUsage(g["dimensions"]["keyId"], g["sum"]["egressBytes"]) for g in groups]


def client(sandbox: Sandbox) -> TurnUsage:
    return TurnUsage(
        account_tag=sandbox.config.account_tag, api_token=sandbox.config.token, endpoint=sandbox.url
    )
