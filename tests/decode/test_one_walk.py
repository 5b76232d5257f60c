"""One strict check: the transport runs the caller's decoder, and the DSL builds the same kind."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from cf_analytics.operations import USAGE_TIMESERIES_GQL

from tests.decode.oracle import CASES, group_for, response
from tests.usage_data import NOW, START
from turnmeter import MalformedResponse, TurnUsage
from turnmeter.generated import Refused
from turnmeter.query.catalog import lookup
from turnmeter.query.rows import decoder, row_class
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


def test_the_dsl_decodes_into_its_rows_with_the_shared_decoder() -> None:
    rows = decoder(HOUR_KEY)(response(hour_key_groups(6)))
    assert type(rows[4]) is row_class(HOUR_KEY)
    assert rows[4].as_dict() == {
        "hour": datetime(2025, 1, 1, 1, tzinfo=UTC),
        "key_id": "key-4",
        "egress_bytes": 4,
        "date": date(2025, 1, 1),
    }
    assert [row.hour.hour for row in rows] == [0, 1, 2, 0, 1, 2]
    assert decoder(HOUR_KEY) is decoder(HOUR_KEY)  # built once per shape


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
    with pytest.raises((MalformedResponse, Refused)) as caught:
        decoder(HOUR_KEY)(response(groups))
    assert f"callsTurnUsageAdaptiveGroups[8].dimensions.{leaf}" in str(caught.value)
    assert message in str(caught.value)


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
            USAGE_TIMESERIES_GQL, SERIES.operation, {}, decoder=SERIES.fast()
        )
    assert rows == SERIES.fast()(data)


async def test_raw_callers_get_data_as_parsed_and_the_decoder_is_the_check(
    fresh_sandbox: Sandbox,
) -> None:
    # Without a decoder the transport returns `data` (the generated limits method validates it
    # with its strict model); with one, a bad value is a MalformedResponse naming its path.
    groups = [group_for(SERIES, i) for i in range(3)]
    groups[1]["sum"]["egressBytes"] = "12"
    served(fresh_sandbox, response(groups))
    served(fresh_sandbox, response(groups))
    async with client(fresh_sandbox) as turn:
        data = await turn.transport.execute(USAGE_TIMESERIES_GQL, SERIES.operation, {})
        assert data == response(groups)
        with pytest.raises(MalformedResponse, match=r"\[1\]\.sum\.egressBytes: expected int64"):
            await turn.transport.execute(
                USAGE_TIMESERIES_GQL, SERIES.operation, {}, decoder=SERIES.fast()
            )


async def test_cached_rows_are_a_new_list_for_every_caller(fresh_sandbox: Sandbox) -> None:
    async with client(fresh_sandbox, cache_ttl=60) as turn:
        first = await turn.timeseries(START, NOW)
        count = len(first)
        first.clear()  # a caller's own list: the cache must not see this
        again = await turn.timeseries(START, NOW)
    assert len(again) == count > 0
