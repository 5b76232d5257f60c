"""The small pure pieces: durations, LIKE patterns, scalars, time bounds, fault specs."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from graphql import GraphQLError

from turnmeter.sandbox import Fault
from turnmeter.sandbox.faults import parse_fault_spec
from turnmeter.sandbox.limits import filter_bounds
from turnmeter.sandbox.refusals import format_duration
from turnmeter.sandbox.scalars import parse_date, parse_time, serialize_date, serialize_time
from turnmeter.sandbox.sql import like_matches, like_to_glob


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (31 * 86400, "4w3d"),
        (92 * 86400, "13w1d"),
        (0, "0s"),
        (37 * 86400 + 3600, "5w2d1h"),
        (38 * 7 * 86400 + 2 * 86400 + 15 * 3600 + 32 * 60 + 42.924, "38w2d15h32m42s924ms"),
    ],
)
def test_cloudflare_durations(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("like", "glob"),
    [("ab%", "ab*"), ("a_c", "a?c"), ("50\\%", "50%"), ("a*b?[", "a[*]b[?][[]"), ("x\\_", "x_")],
)
def test_like_to_glob(like: str, glob: str) -> None:
    assert like_to_glob(like) == glob


@pytest.mark.parametrize(
    ("pattern", "value", "matched"),
    [
        ("abc\x00zzz", "abc", False),
        ("abc\x00zzz", "abc\x00zzz", True),
        ("a%\x00", "ab\x00", True),
        ("_\x00", "\x00\x00", True),
        ("50\\%", "50%", True),
        ("50\\%", "500", False),
        ("Tango", "tango", False),
        ("x\\", "x\\", True),
    ],
)
def test_like_matches_every_character(pattern: str, value: str, matched: bool) -> None:
    assert like_matches(value, pattern) is matched


def test_time_scalar_round_trip() -> None:
    moment = parse_time("2024-07-15T04:07:07+02:00")
    assert moment == datetime(2024, 7, 15, 2, 7, 7, tzinfo=UTC)
    assert serialize_time(moment) == "2024-07-15T02:07:07Z"
    assert parse_time("2024-07-15T02:07:07.123456789Z").microsecond == 123456


@pytest.mark.parametrize("bad", ["2024-07-15", "2024-07-15T02:07:07", 1721009227, "yesterday"])
def test_time_scalar_rejects(bad: object) -> None:
    with pytest.raises(GraphQLError, match="RFC 3339"):
        parse_time(bad)


def test_date_scalar() -> None:
    assert parse_date("2024-07-15") == date(2024, 7, 15)
    assert serialize_date(date(2024, 7, 15)) == "2024-07-15"
    with pytest.raises(GraphQLError, match="YYYY-MM-DD"):
        parse_date("15/07/2024")


def test_time_bounds_through_and_or() -> None:
    bounds = filter_bounds(
        {
            "datetimeHour_geq": "2024-07-01T00:00:00Z",
            "AND": [{"date_leq": "2024-07-10"}],
            "OR": [{"datetimeMinute_lt": "2024-07-05T00:00:00Z"}, {"keyId": "k"}],
        }
    )
    assert bounds.start == datetime(2024, 7, 1, tzinfo=UTC).timestamp()
    assert bounds.end == datetime(2024, 7, 11, tzinfo=UTC).timestamp()  # OR branch 2 unbounded


def test_fault_specs() -> None:
    assert parse_fault_spec("503") == Fault.status(503)
    assert parse_fault_spec("delay:0.25") == Fault.delay(0.25)
    assert parse_fault_spec("html") == Fault.html(502)
    assert parse_fault_spec("error:boom") == Fault.graphql_error("boom")
    with pytest.raises(ValueError, match="unknown fault"):
        parse_fault_spec("meteor")
