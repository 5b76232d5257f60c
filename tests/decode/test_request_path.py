"""The per-request shortcuts build exactly what the long way builds, and keep the token hidden."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cf_analytics import AccountCallsTurnUsageAdaptiveGroupsFilter_InputObject as FilterInput
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import CANARY_TOKEN
from turnmeter.auth import BearerToken, Secret
from turnmeter.errors import ConfigError
from turnmeter.query.filters import (
    FILTER_DIMENSIONS,
    compose_filter,
    dimension_conditions,
    filter_variables,
    time_range,
)
from turnmeter.settings import ClientSettings
from turnmeter.transport.http import AiohttpTransport

NAMES = st.text(min_size=1, max_size=4)
ONE_OR_MANY = st.one_of(st.none(), NAMES, st.lists(NAMES, min_size=1, max_size=3))
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))])
MOMENTS = st.datetimes(
    min_value=datetime(2, 1, 2), max_value=datetime(9998, 12, 30), timezones=ZONES
)


def validated(since: datetime, until: datetime, **filters: Any) -> FilterInput:
    """The long way: the same checked values through the generated model's validation."""
    start, end = time_range(since, until)
    fields = {"datetimeMinute_geq": start, "datetimeMinute_lt": end}
    return FilterInput.model_validate(fields | dimension_conditions(filters))


@settings(max_examples=200, deadline=None)
@given(
    since=MOMENTS,
    span=st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=400)),
    filters=st.fixed_dictionaries(dict.fromkeys(FILTER_DIMENSIONS, ONE_OR_MANY)),
)
def test_composed_filter_is_the_validated_model(
    since: datetime, span: timedelta, filters: dict[str, Any]
) -> None:
    until = since + span
    composed, expected = compose_filter(since, until, **filters), validated(since, until, **filters)
    assert type(composed) is FilterInput
    assert composed == expected
    assert composed.model_fields_set == expected.model_fields_set
    for name in expected.model_fields_set:
        assert type(getattr(composed, name)) is type(getattr(expected, name))
    dump: dict[str, Any] = {"mode": "json", "by_alias": True, "exclude_unset": True}
    assert composed.model_dump(**dump) == expected.model_dump(**dump)


@settings(max_examples=200, deadline=None)
@given(
    since=MOMENTS,
    span=st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=400)),
    filters=st.fixed_dictionaries(dict.fromkeys(FILTER_DIMENSIONS, ONE_OR_MANY)),
)
def test_filter_variables_are_the_validated_models_dump(
    since: datetime, span: timedelta, filters: dict[str, Any]
) -> None:
    expected = validated(since, since + span, **filters)
    dump = expected.model_dump(mode="json", by_alias=True, exclude_unset=True)
    assert filter_variables(since, since + span, **filters) == dump


class Moment(datetime):
    """A datetime subclass (as pandas' Timestamp is one)."""


def test_filter_variables_leave_datetime_subclasses_to_pydantic() -> None:
    since = Moment(2025, 1, 1, 12, 30, tzinfo=UTC)
    until = Moment(2025, 1, 2, tzinfo=timezone(timedelta(hours=2)))
    expected = validated(since, until, key_id=["a", "b"])
    dump = expected.model_dump(mode="json", by_alias=True, exclude_unset=True)
    assert filter_variables(since, until, key_id=["a", "b"]) == dump


def test_composed_filters_share_no_state() -> None:
    since = datetime(2025, 1, 1, tzinfo=UTC)
    first = compose_filter(since, since + timedelta(hours=1), key_id="a")
    second = compose_filter(since, since + timedelta(hours=2))
    assert first.key_id == "a"
    assert second.key_id is None
    assert "key_id" not in second.model_fields_set
    assert FilterInput.model_validate({}).model_fields_set == set()


@pytest.mark.parametrize("compose", [compose_filter, filter_variables])
def test_bad_filter_arguments_are_still_refused(compose: Any) -> None:
    since = datetime(2025, 1, 1, tzinfo=UTC)
    with pytest.raises(ConfigError, match="timezone-aware"):
        compose(datetime(2025, 1, 1), since)
    with pytest.raises(ConfigError, match="must be before"):
        compose(since, since)
    with pytest.raises(ConfigError, match="non-empty strings"):
        compose(since, since + timedelta(hours=1), key_id=["a", 3])
    with pytest.raises(ConfigError, match="unknown filter"):
        compose(since, since + timedelta(hours=1), colour="red")


async def test_cached_request_headers_never_show_the_token() -> None:
    auth = BearerToken(Secret(CANARY_TOKEN))
    transport = AiohttpTransport(ClientSettings(account_tag="a" * 32, auth=auth))
    headers = transport._headers
    assert headers["Authorization"] == f"Bearer {CANARY_TOKEN}"  # what goes on the wire
    shown = [repr(transport), repr(headers), str(headers), f"{headers}", repr(vars(transport))]
    assert not any(CANARY_TOKEN in text for text in shown)
    await transport.close()
