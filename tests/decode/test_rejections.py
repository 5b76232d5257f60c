"""The generated decoders accept what the strict oracle accepts, and refuse the rest with a path."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import orjson
import pydantic
import pytest
from cf_analytics import operations
from cf_analytics.row_decoding import GC_PAUSE_MIN_ROWS

from tests.decode.oracle import CASES, group_for, response
from turnmeter.decode.builder import row_decoder
from turnmeter.decode.shapes import shape_of
from turnmeter.errors import MalformedResponse, QueryError
from turnmeter.generated import Refused
from turnmeter.rows import SeriesPoint

SERIES = CASES["UsageTimeseries"]
WHERE = "accounts[0].callsTurnUsageAdaptiveGroups"


def series(rows: int = 3) -> dict[str, Any]:
    return response([group_for(SERIES, i) for i in range(rows)])


def outcome(data: Any) -> tuple[str, Any]:
    """("ok", rows) or ("error", message) for both paths, to compare them."""
    try:
        fast: tuple[str, Any] = ("ok", SERIES.fast()(data, SERIES.operation))
    except (MalformedResponse, Refused) as exc:
        fast = ("error", str(exc))
    try:
        slow: tuple[str, Any] = ("ok", SERIES.slow(data))
    except (MalformedResponse, Refused, pydantic.ValidationError) as exc:
        slow = ("error", str(exc))
    return fast, slow


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_valid_responses_give_the_slow_paths_rows(case: Any) -> None:
    data = response([group_for(case, i) for i in range(5)])
    assert case.fast()(data) == case.slow(data)
    assert all(type(row) is case.row for row in case.fast()(data))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda g: g["sum"].__setitem__("egressBytes", "12"), "sum.egressBytes: expected int64"),
        (lambda g: g["sum"].__setitem__("egressBytes", True), "expected int64, got True"),
        (lambda g: g["sum"].__setitem__("egressBytes", 12.0), "expected int64, got 12.0"),
        (lambda g: g["sum"].__setitem__("egressBytes", 2**63), "expected int64"),
        (lambda g: g["sum"].__setitem__("egressBytes", None), "sum.egressBytes is null"),
        (lambda g: g["sum"].pop("egressBytes"), "sum.egressBytes is missing"),
        (lambda g: g.__setitem__("sum", None), "[1].sum is null"),
        (lambda g: g.pop("dimensions"), "[1].dimensions is missing"),
        (lambda g: g.__setitem__("dimensions", []), "[1].dimensions: expected an object"),
        (lambda g: g["dimensions"].__setitem__("datetimeMinute", 5), "expected Time, got 5"),
        (lambda g: g["dimensions"].__setitem__("datetimeMinute", "x"), "expected Time"),
        (lambda g: g["dimensions"].__setitem__("datetimeMinute", None), "is null"),
    ],
)
def test_wrong_values_are_refused_by_both_paths_with_the_path(mutate: Any, message: str) -> None:
    data = series()
    mutate(data["viewer"]["accounts"][0]["callsTurnUsageAdaptiveGroups"][1])
    fast, slow = outcome(data)
    assert slow[0] == "error"
    assert fast[0] == "error"
    assert f"UsageTimeseries: {WHERE}[1]" in fast[1]
    assert message in fast[1]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "data: expected an object with 'viewer'"),
        ({"viewer": None}, "no viewer"),
        ({"viewer": {"accounts": []}}, "no account"),
        ({"viewer": {"accounts": {}}}, "viewer: expected an object with an 'accounts' list"),
        ({"viewer": {"accounts": [{}]}}, "accounts[0]: expected an object"),
        ({"viewer": {"accounts": [{"callsTurnUsageAdaptiveGroups": {}}]}}, "expected a list"),
        ({"viewer": {"accounts": [{"callsTurnUsageAdaptiveGroups": [7]}]}}, "expected an object"),
    ],
)
def test_wrong_outer_shapes_are_refused_by_both(data: Any, message: str) -> None:
    fast, slow = outcome(data)
    assert (fast[0], slow[0]) == ("error", "error")
    assert message in fast[1]


def test_every_account_is_checked_and_the_first_one_returned() -> None:
    data = series()
    other = copy.deepcopy(data["viewer"]["accounts"][0])
    other["callsTurnUsageAdaptiveGroups"] = [group_for(SERIES, 9)]
    data["viewer"]["accounts"].append(other)
    assert outcome(data)[0] == outcome(data)[1]
    other["callsTurnUsageAdaptiveGroups"][0]["sum"]["egressBytes"] = "9"
    fast, slow = outcome(data)
    assert (fast[0], slow[0]) == ("error", "error")
    assert "accounts[1].callsTurnUsageAdaptiveGroups[0].sum.egressBytes" in fast[1]


def test_extra_fields_are_ignored_like_pydantic_does() -> None:
    data = series()
    group = data["viewer"]["accounts"][0]["callsTurnUsageAdaptiveGroups"][0]
    group["avg"] = {"whatever": 1}
    group["sum"]["ingressBytes"] = "not selected"
    fast, slow = outcome(data)
    assert fast == slow
    assert fast[0] == "ok"


@pytest.mark.parametrize(
    "text",
    ["2025-01-01T00:00:00.5Z", "2025-01-01T02:00:00+02:00", "2025-01-01T00:00:00.123456-05:30"],
)
def test_rfc3339_times_with_offsets_decode_to_the_same_instant(text: str) -> None:
    data = series(1)
    data["viewer"]["accounts"][0]["callsTurnUsageAdaptiveGroups"][0]["dimensions"][
        "datetimeMinute"
    ] = text
    fast, slow = outcome(data)
    assert fast == slow
    assert fast[1][0].minute.tzinfo is not None


@pytest.mark.parametrize("text", ["2025-01-01T00:00:00", "2025-01-01", "1735689600"])
def test_time_is_stricter_than_pydantic_naive_dates_and_timestamps_are_refused(text: str) -> None:
    # Documented difference: pydantic accepts these; a Cloudflare Time is always RFC 3339
    # with an offset, and a naive datetime would break comparisons with aware ones.
    data = series(1)
    data["viewer"]["accounts"][0]["callsTurnUsageAdaptiveGroups"][0]["dimensions"][
        "datetimeMinute"
    ] = text
    fast, _ = outcome(data)
    SERIES.model.model_validate(data)  # pydantic in its default (lax) mode takes it
    assert fast[0] == "error"
    assert "expected Time" in fast[1]


def test_large_pages_pause_the_gc_and_restore_it() -> None:
    import gc

    data = series(GC_PAUSE_MIN_ROWS + 1)
    assert gc.isenabled()
    assert len(SERIES.fast()(data)) == GC_PAUSE_MIN_ROWS + 1
    assert gc.isenabled()
    data["viewer"]["accounts"][0]["callsTurnUsageAdaptiveGroups"][-1]["sum"] = None
    with pytest.raises((MalformedResponse, Refused)):
        SERIES.fast()(data)
    assert gc.isenabled()


def test_the_dsl_and_the_generator_build_the_same_decoder_from_one_builder() -> None:
    # At run time, from the operation text the generated client sends and the pruned schema,
    # the builder makes the decoder the generator wrote into usage_rows.py.
    for case in CASES.values():
        text = getattr(operations, f"{case.constant}_GQL")
        built = row_decoder(shape_of(text, case.operation), case.operation, case.row, case.fields)
        generated = case.fast()
        assert built.leaves == generated.leaves
        assert (built.groups_key, built.columns, built.row) == (
            generated.groups_key,
            generated.columns,
            generated.row,
        )
        data = response([group_for(case, i) for i in range(3)])
        assert built(data) == generated(data)
    assert SERIES.fast().leaves[1].scalar == "int64"  # from the schema


def test_any_row_class_works_not_only_slotted_dataclasses() -> None:
    from typing import NamedTuple

    class Point(NamedTuple):
        egress: int
        minute: datetime

    shape = shape_of(operations.USAGE_TIMESERIES_GQL, "UsageTimeseries")
    decoder = row_decoder(
        shape, "UsageTimeseries", Point, ("sum.egressBytes", "dimensions.datetimeMinute")
    )
    rows = decoder(series(1))
    assert rows == [Point(0, datetime(2025, 1, 1, tzinfo=UTC))]
    assert decoder.decode_body(orjson.dumps({"data": series(1)})) == rows


def test_fields_the_operation_does_not_select_are_refused_when_building() -> None:
    shape = shape_of(operations.USAGE_TIMESERIES_GQL, "UsageTimeseries")
    with pytest.raises(QueryError, match=r"sum\.ingressBytes"):
        row_decoder(shape, "UsageTimeseries", SeriesPoint, ("sum.ingressBytes",))
