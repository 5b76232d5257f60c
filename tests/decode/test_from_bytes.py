"""The msgspec way (``RowDecoder.decode_body``) accepts a subset of what the strict walk accepts.

Whenever it answers, its rows equal the dict walk's rows for the same body; whenever the dict walk
refuses (or the body carries ``errors``), it declines with ``None`` so that the classifying
orjson path decides. Its verdicts can therefore never differ from the old path's.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings

from tests.decode.oracle import CASES, Case, group_for, response
from tests.decode.test_parity_property import mutated
from tests.usage_data import NOW, START
from turnmeter import AuthError, TurnUsage
from turnmeter.decode.builder import compiled_rows
from turnmeter.generated import DecoderLeaf, Refused, RowDecoder
from turnmeter.query.catalog import lookup
from turnmeter.query.rows import decoder as dsl_decoder
from turnmeter.rows import SeriesPoint
from turnmeter.sandbox import Fault, Sandbox
from turnmeter.transport.http import decode_response

SERIES = CASES["UsageTimeseries"]
HOUR_KEY = tuple(lookup(name) for name in ("hour", "key_id", "egress_bytes", "date"))


def walk(case: Case, body: bytes) -> list[Any] | None:
    """The old path: orjson, errors classified, then the dict walk; None when it refuses."""
    try:
        return case.fast()(decode_response(200, {}, body, operation=case.operation))
    except Exception:  # any refusal: classified errors, MalformedResponse, UnreadableBody
        return None


def agrees(case: Case, body: bytes) -> list[Any] | None:
    got = case.fast().decode_body(body)
    expected = walk(case, body)
    if got is not None:
        assert expected is not None, "msgspec accepted what the dict walk refuses"
        assert got == expected
        assert all(type(a) is type(b) for a, b in zip(got, expected, strict=True))
    return got


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_clean_answers_take_the_msgspec_path(case: Case) -> None:
    body = orjson.dumps({"data": response([group_for(case, i) for i in range(5)], accounts=2)})
    rows = agrees(case, body)
    assert rows is not None
    assert len(rows) == 5


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_answers_never_decode_differently(sample: tuple[Case, Any]) -> None:
    case, data = sample
    # json, not orjson: the mutations include integers past 64 bits.
    agrees(case, json.dumps({"data": data}).encode())


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("2025-01-01T00:00:00Z", True),  # Cloudflare's own form
        ("2025-01-01T00:00:00.5+01:00", True),  # RFC 3339: a fraction, another offset
        ("2025-01-01t00:00:00z", True),  # RFC 3339 allows lower case T and Z
        ("2025-01-01 00:00:00Z", True),  # and a space between date and time
        ("2025-01-01T00:00:00.1234567Z", True),  # any number of fraction digits
        ("2025-01-01T00:00:00", False),  # naive: would not compare with aware times
        ("2025-01-01T24:00:00Z", False),
        ("2025-01-01T00:00Z", False),
        ("2025-02-30T00:00:00Z", False),
        ("1735689600", False),
    ],
)
def test_times_follow_one_grammar_both_ways(text: str, accepted: bool) -> None:
    # msgspec parses Time in C on the fast way; the walk calls the same parser
    # (msgspec.convert), so the two ways cannot disagree on what a Time is.
    data = response([group_for(SERIES, 0)])
    data["viewer"]["accounts"][0]["callsTurnUsageAdaptiveGroups"][0]["dimensions"][
        "datetimeMinute"
    ] = text
    body = orjson.dumps({"data": data})
    got = agrees(SERIES, body)  # whatever the fast way takes, the walk takes with equal rows
    assert (got is not None) == accepted
    assert (walk(SERIES, body) is not None) == accepted


def test_the_dsl_decoder_with_a_time_memo_and_dates_agrees() -> None:
    groups = [
        {
            "dimensions": {"datetimeHour": f"2025-01-01T0{i % 3}:00:00Z", "keyId": f"k{i}"},
            "sum": {"egressBytes": i},
        }
        for i in range(9)
    ]
    for group in groups:
        group["dimensions"]["date"] = "2025-01-01"
    decode = dsl_decoder(HOUR_KEY)
    body = orjson.dumps({"data": response(groups)})
    rows = decode.decode_body(body)
    assert rows is not None
    assert rows == decode(response(groups))
    groups[7]["dimensions"]["date"] = "2025-1-1"
    assert decode.decode_body(orjson.dumps({"data": response(groups)})) is None


@pytest.mark.parametrize(
    "body",
    [
        b'{"data": %s, "errors": [{"message": "rate limited", "extensions": {"code": "x"}}]}',
        b'{"data": %s, "errors": {}}',
        b'{"x": ' + b"[" * 5000 + b"]" * 5000 + b', "data": %s}',
        b'{"data": %s, "data": null}',
        b'{"data": %s',
        b'{"data": {"viewer": {"accounts": []}}}',
    ],
)
def test_errors_and_odd_bodies_are_left_to_the_classifying_path(body: bytes) -> None:
    valid = orjson.dumps(response([group_for(SERIES, i) for i in range(2)]))
    raw = body.replace(b"%s", valid)
    assert SERIES.fast().decode_body(raw) is None


@pytest.mark.parametrize("errors", [b"null", b"[]"])
def test_empty_errors_are_no_errors(errors: bytes) -> None:
    valid = orjson.dumps(response([group_for(SERIES, i) for i in range(2)]))
    raw = b'{"errors": ' + errors + b', "data": ' + valid + b"}"
    assert agrees(SERIES, raw) is not None


def test_duplicate_keys_take_the_last_value_like_orjson() -> None:
    group = json.dumps(group_for(SERIES, 1))
    raw = group.replace('"sum": {', '"sum": {"egressBytes": 5, ')
    data = response([0])
    text = json.dumps({"data": data}).replace("0", raw, 1)
    assert text.count("egressBytes") == 2
    rows = agrees(SERIES, text.encode())
    assert rows is not None
    assert rows[0].egress_bytes == 1_000_003


def test_an_offset_time_is_the_same_instant_both_ways() -> None:
    data = response([group_for(SERIES, 0)])
    group = data["viewer"]["accounts"][0]["callsTurnUsageAdaptiveGroups"][0]
    group["dimensions"]["datetimeMinute"] = "2025-01-01T02:00:00+02:00"
    body = orjson.dumps({"data": data})
    expected = [SeriesPoint(datetime(2025, 1, 1, tzinfo=UTC), 0)]
    assert SERIES.fast().decode_body(body) == expected
    assert walk(SERIES, body) == expected
    # An ISO week date has Cloudflare's length and separators; neither way takes it.
    group["dimensions"]["datetimeMinute"] = "2025-W01-3T00:00:00Z"
    body = orjson.dumps({"data": data})
    assert SERIES.fast().decode_body(body) is None
    assert walk(SERIES, body) is None


@pytest.mark.parametrize(
    ("scalar", "value", "accepted"),
    [("uint64", 2**64 - 1, True), ("uint64", 2**64, False), ("uint64", -1, False)],
)
def test_bounds_past_int64_are_checked_on_the_column(
    scalar: str, value: int, accepted: bool
) -> None:
    leaf = DecoderLeaf(("sum", "egressBytes"), scalar, "int", False, 0, 2**64 - 1)
    decoder = RowDecoder("Big", "callsTurnUsageAdaptiveGroups", [leaf], tuple, [0])
    data = {
        "viewer": {
            "accounts": [{"callsTurnUsageAdaptiveGroups": [{"sum": {"egressBytes": value}}]}]
        }
    }
    body = json.dumps({"data": data}).encode()
    assert (decoder.decode_body(body) is not None) is accepted
    if accepted:
        assert decoder(data) == [(value,)]
    else:
        with pytest.raises(Refused, match="expected uint64"):
            decoder(data)


async def test_errors_beside_valid_data_are_still_classified(fresh_sandbox: Sandbox) -> None:
    # HTTP 200 with both data and an auth error: msgspec must decline, not return the rows.
    data = response([group_for(SERIES, i) for i in range(2)])
    errors = [{"message": "not authorized for this account", "extensions": {"code": "authz"}}]
    fresh_sandbox.faults.push(Fault.status(200, body=json.dumps({"data": data, "errors": errors})))
    config = fresh_sandbox.config
    async with TurnUsage(
        account_tag=config.account_tag, api_token=config.token, endpoint=fresh_sandbox.url
    ) as turn:
        with pytest.raises(AuthError):
            await turn.timeseries(START, NOW, limit=2)


def test_rows_are_built_for_any_field_name_and_column_layout() -> None:
    # The fast way compiles one comprehension per decoder from its field names: a name that is
    # a Python keyword, a leaf used twice, and no columns at all must decode as the walk does.
    leaves = [
        DecoderLeaf(("dimensions", "from"), "string", "text", False),
        DecoderLeaf(("sum", "class"), "int64", "int", False, -(2**63), 2**63 - 1),
    ]
    groups = [{"dimensions": {"from": f"k{i}"}, "sum": {"class": i}} for i in range(3)]
    data = {"viewer": {"accounts": [{"callsTurnUsageAdaptiveGroups": groups}]}}
    body = json.dumps({"data": data}).encode()
    for columns, expected in [
        ([1, 0, 1], [(i, f"k{i}", i) for i in range(3)]),
        ([], [(), (), ()]),
    ]:
        # The DSL's compiled build, and a decoder given none (rows mapped over columns).
        for build in (compiled_rows(tuple, [leaves[i].path for i in columns]), None):
            decoder = RowDecoder(
                "Odd", "callsTurnUsageAdaptiveGroups", leaves, tuple, columns, build
            )
            assert decoder.decode_body(body) == expected
            assert decoder(data) == expected
