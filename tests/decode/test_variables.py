"""filters.filter_json writes exactly what pydantic's dump of the filter model writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from cf_analytics import AccountCallsTurnUsageAdaptiveGroupsFilter_InputObject as FilterInput
from hypothesis import given, settings
from hypothesis import strategies as st

from turnmeter.query.filters import compose_filter, filter_json

NAMES = st.text(min_size=1, max_size=4)
ONE_OR_MANY = st.one_of(st.none(), NAMES, st.lists(NAMES, min_size=1, max_size=3))
MOMENTS = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)


def pydantic_dump(model: FilterInput) -> Any:
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


@settings(max_examples=200, deadline=None)
@given(
    since=MOMENTS,
    span=st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=400)),
    key_id=ONE_OR_MANY,
    datacenter=ONE_OR_MANY,
    custom_identifier=ONE_OR_MANY,
)
def test_composed_filters_dump_like_pydantic(
    since: datetime, span: timedelta, key_id: Any, datacenter: Any, custom_identifier: Any
) -> None:
    until = min(since + span, datetime(9999, 12, 31, tzinfo=UTC))
    model = compose_filter(
        since, until, key_id=key_id, datacenter=datacenter, custom_identifier=custom_identifier
    )
    assert filter_json(model) == pydantic_dump(model)


def test_other_models_fall_back_to_pydantic() -> None:
    moment = datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=2)))
    nested = FilterInput.model_validate(
        {"datetimeMinute_geq": moment, "AND": [{"keyId": "a"}], "keyId": None}
    )
    assert filter_json(nested) == pydantic_dump(nested)
    assert filter_json(nested)["datetimeMinute_geq"] == "2025-01-01T00:00:00+02:00"
