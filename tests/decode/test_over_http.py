"""Over real HTTP (the sandbox): the facade's fast path against the generated client's."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cf_analytics import Client as GeneratedClient
from cf_analytics import TopCustomIdentifiers, TopKeysByEgress, UsageTimeseries
from cf_analytics import operations as ops
from cf_analytics.transport_base_client import dump_variables

import turnmeter.client as client_module
from tests.decode.oracle import CASES, group_for, response
from tests.usage_data import NOW, START
from turnmeter import MalformedResponse, TurnUsage
from turnmeter.query.filters import compose_filter
from turnmeter.rows import CustomerKeyUsage, KeyUsage, SeriesPoint, UsageTotals
from turnmeter.sandbox import Fault, Sandbox


async def test_the_seed_methods_answer_what_the_generated_methods_answer(turn: TurnUsage) -> None:
    # The same sandbox, the generated client on its own and the facade: equal rows, and both
    # equal to ariadne's pydantic models (strict) over the raw answer.
    generated = GeneratedClient(turn.transport)
    tag, flt = turn.settings.account_tag, compose_filter(START, NOW)

    async def models(text: str, operation: str, model: Any, **variables: Any) -> list[Any]:
        sent = dump_variables({"accountTag": tag, "filter": flt, **variables})
        data = await turn.transport.execute(text, operation, sent)
        result = model.model_validate(data, strict=False)
        return result.viewer.accounts[0].calls_turn_usage_adaptive_groups  # type: ignore[no-any-return]

    keys = await generated.top_keys_by_egress(tag, flt, 5)
    assert await turn.top_keys(START, NOW, limit=5) == keys
    assert keys == [
        KeyUsage(g.dimensions.key_id, g.sum.egress_bytes)
        for g in await models(
            ops.TOP_KEYS_BY_EGRESS_GQL, "TopKeysByEgress", TopKeysByEgress, limit=5
        )
    ]
    customers = await generated.top_custom_identifiers(tag, flt, 5)
    assert await turn.top_custom_identifiers(START, NOW, limit=5) == customers
    assert [c.custom_identifier for c in customers] == [
        g.dimensions.custom_identifier
        for g in await models(
            ops.TOP_CUSTOM_IDENTIFIERS_GQL, "TopCustomIdentifiers", TopCustomIdentifiers, limit=5
        )
    ]
    tango = await generated.usage_for_custom_identifier(tag, "tango", flt, 100)
    assert await turn.usage_for_custom_identifier("tango", START, NOW, limit=100) == tango
    assert all(type(row) is CustomerKeyUsage for row in tango)
    series = await generated.usage_timeseries(tag, flt, 10_000)
    assert await turn.timeseries(START, NOW) == series
    assert series == [
        SeriesPoint(g.dimensions.datetime_minute, g.sum.egress_bytes)
        for g in await models(
            ops.USAGE_TIMESERIES_GQL, "UsageTimeseries", UsageTimeseries, limit=10_000
        )
    ]
    (total,) = await generated.usage_total(tag, flt, 1)
    assert await turn.total(START, NOW) == total
    assert type(total) is UsageTotals


def test_the_facade_holds_no_operation_text_and_builds_no_decoder() -> None:
    source = Path(client_module.__file__).read_text(encoding="utf-8")
    forbidden = ("viewer {", "groups {", "RowDecoder", "row_decoder", "decoder=", ".graphql")
    for text in (*forbidden, "exec(", "compile("):
        assert text not in source, text


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
