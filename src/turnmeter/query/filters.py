"""Composing the TURN filter input: time range plus key, credential, customer and datacenter.

This is the one place where friendly filter arguments become Cloudflare's filter object: one
value becomes an equality, several become ``_in``; :func:`encode_filter` is the one encoder that
writes any filter (these, the DSL's conditions, keysets) as JSON variables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypedDict

from turnmeter.errors import ConfigError
from turnmeter.query.catalog import FILTER_KEYWORDS

if TYPE_CHECKING:
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


#: FilterArgs keyword -> TURN dimension name (from the one name table, the catalog).
FILTER_DIMENSIONS: Mapping[str, str] = {kw: spec.schema for kw, spec in FILTER_KEYWORDS.items()}


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
    """The generated (pydantic) filter input for a time range and :class:`FilterArgs`.

    The seed methods and the DSL send :func:`filter_variables` / :func:`encode_filter`; this is
    for callers of the generated client who want its model.
    """
    from turnmeter.generated import FilterInput

    conditions = time_conditions(since, until) | dimension_conditions(filters)
    return FilterInput.model_validate(conditions)


def filter_variables(since: datetime, until: datetime, **filters: Any) -> dict[str, Any]:
    """The filter as JSON variables (what the generated input model would dump to)."""
    return encode_filter(time_conditions(since, until) | dimension_conditions(filters))


def time_conditions(since: datetime, until: datetime) -> dict[str, Any]:
    """``datetimeMinute_geq`` / ``_lt`` for a checked half-open range."""
    start, end = time_range(since, until)
    return {_TIME_GEQ: start, _TIME_LT: end}


_TIME_GEQ, _TIME_LT = f"{TIME_DIMENSION}_geq", f"{TIME_DIMENSION}_lt"


def encode_filter(conditions: Mapping[str, Any]) -> dict[str, Any]:
    """The one filter encoder: conditions (keyword filters, DSL conditions, keysets) as JSON.

    Keys are the schema's filter fields; values are strings, numbers, UTC datetimes (written
    ``...Z``, as pydantic writes them), dates, lists and nested ``AND``/``OR`` lists.
    """
    return {key: _encode(value) for key, value in conditions.items()}


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        # Ranges arrive in UTC already (bounded_range); astimezone would only copy them.
        return _utc_text(value if value.tzinfo is UTC else value.astimezone(UTC))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return encode_filter(value)
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    return value


def _utc_text(moment: datetime) -> str:
    # pydantic writes UTC as "Z"; isoformat's "+00:00" is the only other difference.
    return datetime.isoformat(moment)[:-6] + "Z"


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
