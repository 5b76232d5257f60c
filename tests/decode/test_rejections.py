"""The fast decoder accepts what the slow path accepts, and refuses the rest with a path."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pydantic
import pytest

from tests.decode.oracle import CASES, group_for, response
from turnmeter.decode.compiled import GC_PAUSE_MIN_ROWS, decoder_for
from turnmeter.decode.shapes import operation_text, shape_of
from turnmeter.errors import MalformedResponse, QueryError
from turnmeter.rows import SeriesPoint

SERIES = CASES["UsageTimeseries"]
WHERE = "accounts[0].callsTurnUsageAdaptiveGroups"


def series(rows: int = 3) -> dict[str, Any]:
    return response([group_for(SERIES, i) for i in range(rows)])


def outcome(data: Any) -> tuple[str, Any]:
    """("ok", rows) or ("error", message) for both paths, to compare them."""
    try:
        fast: tuple[str, Any] = ("ok", SERIES.fast()(data, SERIES.operation))
    except MalformedResponse as exc:
        fast = ("error", str(exc))
    try:
        slow: tuple[str, Any] = ("ok", SERIES.slow(data))
    except (MalformedResponse, pydantic.ValidationError) as exc:
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


@pytest.mark.parametrize(
    "text", ["2025-01-01T00:00:00", "2025-01-01", "1735689600", "2025-01-01 00:00:00Z"]
)
def test_time_is_stricter_than_pydantic_naive_dates_and_timestamps_are_refused(text: str) -> None:
    # Documented difference: pydantic accepts these; a Cloudflare Time is always RFC 3339
    # with an offset, and a naive datetime would break comparisons with aware ones.
    data = series(1)
    data["viewer"]["accounts"][0]["callsTurnUsageAdaptiveGroups"][0]["dimensions"][
        "datetimeMinute"
    ] = text
    fast, slow = outcome(data)
    assert slow[0] == "ok"
    assert fast[0] == "error"
    assert "expected Time" in fast[1]


def test_large_pages_pause_the_gc_and_restore_it() -> None:
    import gc

    data = series(GC_PAUSE_MIN_ROWS + 1)
    assert gc.isenabled()
    assert len(SERIES.fast()(data)) == GC_PAUSE_MIN_ROWS + 1
    assert gc.isenabled()
    data["viewer"]["accounts"][0]["callsTurnUsageAdaptiveGroups"][-1]["sum"] = None
    with pytest.raises(MalformedResponse):
        SERIES.fast()(data)
    assert gc.isenabled()


def test_decoders_are_compiled_once_per_shape_and_row() -> None:
    query = operation_text("UsageTimeseries")
    fields = ("dimensions.datetimeMinute", "sum.egressBytes")
    first = decoder_for(query, "UsageTimeseries", SeriesPoint, fields)
    assert decoder_for(query, "UsageTimeseries", SeriesPoint, fields) is first
    assert "def decode_groups" in first.source
    assert shape_of(query, "UsageTimeseries").leaves[1].scalar == "int64"  # from the schema


def test_any_row_class_works_not_only_slotted_dataclasses() -> None:
    from typing import NamedTuple

    class Point(NamedTuple):
        egress: int
        minute: datetime

    query = operation_text("UsageTimeseries")
    decoder = decoder_for(
        query, "UsageTimeseries", Point, ("sum.egressBytes", "dimensions.datetimeMinute")
    )
    rows = decoder(series(1))
    assert rows == [Point(0, datetime(2025, 1, 1, tzinfo=UTC))]


def test_fields_the_operation_does_not_select_are_refused_when_compiling() -> None:
    query = operation_text("UsageTimeseries")
    with pytest.raises(QueryError, match=r"sum\.ingressBytes"):
        decoder_for(query, "UsageTimeseries", SeriesPoint, ("sum.ingressBytes",))
