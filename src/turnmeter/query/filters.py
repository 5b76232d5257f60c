"""Composing the TURN filter input: time range plus key, credential, customer and datacenter.

This is the one place where friendly filter arguments become Cloudflare's filter object (the
generated input model): one value becomes an equality, several become ``_in``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any, TypedDict

from turnmeter.errors import ConfigError
from turnmeter.generated import FilterInput

#: Filter field that bounds time: usage is bucketed by minute, and a bucket belongs to the range
#: when its start lies in [since, until).
TIME_DIMENSION = "datetimeMinute"

OneOrMany = str | Iterable[str]


class OtherFilterArgs(TypedDict, total=False):
    """Filters besides the custom identifier (for methods that take it as an argument)."""

    key_id: OneOrMany
    username: OneOrMany
    datacenter: OneOrMany  # datacenter code, e.g. "FRA"
    country: OneOrMany  # datacenter country, e.g. "DE"
    region: OneOrMany  # datacenter region, e.g. "EEUR"


class FilterArgs(OtherFilterArgs, total=False):
    """Optional filters every facade method accepts: one value, or several (an ``_in``)."""

    custom_identifier: OneOrMany


#: FilterArgs keyword -> TURN dimension name.
FILTER_DIMENSIONS: Mapping[str, str] = {
    "key_id": "keyId",
    "username": "username",
    "custom_identifier": "customIdentifier",
    "datacenter": "datacenterCode",
    "country": "datacenterCountry",
    "region": "datacenterRegion",
}


def utc(moment: datetime, name: str) -> datetime:
    """``moment`` in UTC; naive datetimes are refused rather than guessed."""
    if not isinstance(moment, datetime):
        raise ConfigError(f"{name} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ConfigError(f"{name} must be timezone-aware (e.g. datetime(..., tzinfo=UTC))")
    return moment.astimezone(UTC)


def time_range(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """A validated half-open UTC range [since, until)."""
    start, end = utc(since, "since"), utc(until, "until")
    if start >= end:
        raise ConfigError(f"since ({start:%Y-%m-%dT%H:%M:%SZ}) must be before until")
    return start, end


def compose_filter(since: datetime, until: datetime, **filters: Any) -> FilterInput:
    """The generated filter input for a time range and the given :class:`FilterArgs`."""
    start, end = time_range(since, until)
    fields: dict[str, Any] = {_TIME_GEQ: start, _TIME_LT: end}
    fields.update(dimension_conditions(filters))
    # Every value was checked above (UTC datetimes, non-empty strings) and every name is a
    # constant: setting them on a copy of the validated empty filter builds what
    # model_validate builds, at a third of its cost on this 112-field model (model_construct
    # fills every default in Python and costs far more). tests/decode/test_request_path.py holds
    # the two equal for every filter argument.
    return _EMPTY_FILTER.model_copy(update={_FIELD_NAMES[name]: v for name, v in fields.items()})


def filter_variables(since: datetime, until: datetime, **filters: Any) -> dict[str, Any]:
    """The filter as JSON variables: ``filter_json(compose_filter(...))``, with the same checks
    of the arguments, without building the 112-field model only to write it out again."""
    start, end = time_range(since, until)
    if type(start) is not datetime or type(end) is not datetime:
        # A datetime subclass (a pandas Timestamp, say): pydantic decides how it is written.
        return filter_json(compose_filter(since, until, **filters))
    variables: dict[str, Any] = {_TIME_GEQ: _utc_text(start), _TIME_LT: _utc_text(end)}
    variables.update(dimension_conditions(filters))
    return variables


_TIME_GEQ, _TIME_LT = f"{TIME_DIMENSION}_geq", f"{TIME_DIMENSION}_lt"
#: Schema name -> the filter model's field name.
_FIELD_NAMES = {f.alias or name: name for name, f in FilterInput.model_fields.items()}
#: The validated filter without conditions; compose_filter copies it, never changes it.
_EMPTY_FILTER = FilterInput.model_validate({})


def filter_json(model: FilterInput) -> dict[str, Any]:
    """The filter as JSON variables: what ``model_dump(mode="json", by_alias=True,
    exclude_unset=True)`` returns, without pydantic's serializer walking every declared field.

    Filters composed here hold strings, lists of strings and UTC datetimes; anything else (a
    nested ``AND``, another offset) is handed to pydantic.
    """
    aliases = _ALIASES.get(type(model))
    if aliases is None:
        fields = type(model).model_fields.items()
        aliases = _ALIASES[type(model)] = {name: f.alias or name for name, f in fields}
    dumped: dict[str, Any] = {}
    for name in model.model_fields_set:
        value = _json_value(getattr(model, name))
        if value is _UNSUPPORTED:
            return model.model_dump(mode="json", by_alias=True, exclude_unset=True)
        dumped[aliases[name]] = value
    return dumped


#: Field name -> schema name, per input model class.
_ALIASES: dict[type[Any], dict[str, str]] = {}


#: _json_value's answer for values left to pydantic.
_UNSUPPORTED: Any = object()


def _json_value(value: Any) -> Any:
    kind = type(value)
    if kind is str or value is None:
        return value
    if kind is datetime and value.tzinfo is UTC:
        return _utc_text(value)
    if kind is date:
        return value.isoformat()
    if kind is list and all(type(item) is str for item in value):
        return list(value)
    return _UNSUPPORTED


def _utc_text(moment: datetime) -> str:
    # pydantic writes UTC as "Z"; isoformat's "+00:00" is the only other difference.
    return moment.isoformat()[:-6] + "Z"


def dimension_conditions(
    filters: Mapping[str, Any],
    dimensions: Mapping[str, str] = FILTER_DIMENSIONS,
    what: str = "filter",
) -> dict[str, Any]:
    """Equality or ``_in`` conditions, keyed by schema field name, for :class:`FilterArgs`
    (or another dataset's keywords: ``dimensions`` maps them to its schema names)."""
    conditions: dict[str, Any] = {}
    for argument, value in filters.items():
        dimension = dimensions.get(argument)
        if dimension is None:
            known = ", ".join(dimensions)
            raise ConfigError(f"unknown {what} {argument!r}; known filters: {known}")
        if value is None:
            continue
        values = _values(argument, value)
        if len(values) == 1:
            conditions[dimension] = values[0]
        else:
            conditions[f"{dimension}_in"] = values
    return conditions


def _values(argument: str, value: OneOrMany) -> list[str]:
    values = [value] if isinstance(value, str) else list(value)
    if not values:
        raise ConfigError(f"{argument} was given an empty list; pass None for no filter")
    for item in values:
        if not isinstance(item, str) or not item:
            raise ConfigError(f"{argument} values must be non-empty strings, got {item!r}")
    return list(dict.fromkeys(values))
