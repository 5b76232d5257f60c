"""One strict walk: the transport runs the caller's decoder, and the DSL uses the same decoder."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from tests.decode.oracle import CASES, group_for, response
from tests.usage_data import NOW, START
from turnmeter import MalformedResponse, TurnUsage
from turnmeter.decode.compiled import decoder_for
from turnmeter.decode.shapes import operation_text
from turnmeter.query.catalog import lookup
from turnmeter.query.rows import decoder
from turnmeter.sandbox import Fault, Sandbox

SERIES = CASES["UsageTimeseries"]
HOUR_KEY = tuple(lookup(name) for name in ("hour", "key_id", "egress_bytes", "date"))


def hour_key_groups(rows: int) -> list[dict[str, Any]]:
    # Three hours, repeated once per key: the shape whose time values the decoder memoises.
    return [
        {
            "dimensions": {
                "datetimeHour": f"2025-01-01T{i % 3:02d}:00:00Z",
                "keyId": f"key-{i}",
                "date": "2025-01-01",
            },
            "sum": {"egressBytes": i},
        }
        for i in range(rows)
    ]


def test_the_dsl_decodes_into_tuples_with_the_shared_decoder() -> None:
    rows = decoder(HOUR_KEY)(response(hour_key_groups(6)))
    assert rows[4] == (datetime(2025, 1, 1, 1, tzinfo=UTC), "key-4", 4, date(2025, 1, 1))
    assert [row[0].hour for row in rows] == [0, 1, 2, 0, 1, 2]
    assert "memo0" in decoder(HOUR_KEY).source  # two dimensions: time values repeat


@pytest.mark.parametrize(
    ("leaf", "value", "message"),
    [
        ("datetimeHour", "2025-01-01T01:00:00", "expected Time"),  # naive, after good ones
        ("datetimeHour", ["2025-01-01T01:00:00Z"], "expected Time"),  # unhashable
        ("date", "2025-1-1", "expected Date"),
        ("keyId", 7, "expected string"),
    ],
)
def test_the_dsl_checks_every_row_not_only_the_first(leaf: str, value: Any, message: str) -> None:
    groups = hour_key_groups(9)
    groups[-1]["dimensions"][leaf] = value
    with pytest.raises(MalformedResponse) as caught:
        decoder(HOUR_KEY)(response(groups))
    assert f"callsTurnUsageAdaptiveGroups[8].dimensions.{leaf}" in str(caught.value)
    assert message in str(caught.value)


def test_a_series_of_new_buckets_is_not_memoised() -> None:
    fields = ("dimensions.datetimeMinute", "sum.egressBytes")
    source = decoder_for(SERIES.query, SERIES.operation, SERIES.row, fields).source
    assert "memo" not in source


def served(sandbox: Sandbox, data: Any) -> None:
    sandbox.faults.push(Fault.status(200, body=json.dumps({"data": data})))


def client(sandbox: Sandbox, **options: Any) -> TurnUsage:
    config = sandbox.config
    return TurnUsage(
        account_tag=config.account_tag, api_token=config.token, endpoint=sandbox.url, **options
    )


async def test_execute_returns_what_the_decoder_builds(fresh_sandbox: Sandbox) -> None:
    data = response([group_for(SERIES, i) for i in range(3)])
    served(fresh_sandbox, data)
    async with client(fresh_sandbox) as turn:
        rows = await turn.transport.execute(
            SERIES.query, SERIES.operation, {}, decoder=SERIES.fast()
        )
    assert rows == SERIES.fast()(data)


async def test_raw_callers_keep_the_json_type_check(fresh_sandbox: Sandbox) -> None:
    groups = [group_for(SERIES, i) for i in range(3)]
    groups[1]["sum"]["egressBytes"] = "12"  # pydantic's lax mode would take it
    served(fresh_sandbox, response(groups))
    async with client(fresh_sandbox) as turn:
        with pytest.raises(MalformedResponse, match=r"\[1\]\.sum\.egressBytes should be int64"):
            await turn.transport.execute(operation_text(SERIES.operation), SERIES.operation, {})


async def test_cached_rows_are_a_new_list_for_every_caller(fresh_sandbox: Sandbox) -> None:
    async with client(fresh_sandbox, cache_ttl=60) as turn:
        first = await turn.timeseries(START, NOW)
        count = len(first)
        first.clear()  # a caller's own list: the cache must not see this
        again = await turn.timeseries(START, NOW)
    assert len(again) == count > 0
