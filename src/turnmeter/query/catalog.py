"""The TURN node's 12 dimensions and 6 metrics, under friendly snake_case names: the one table.

One table maps every spelling a user may write (``"hour"``, ``"datetimeHour"``,
``"dimensions.datetimeHour"``; ``"egress"``, ``"egress_bytes"``, ``"sum.egressBytes"``) to one
:class:`FieldSpec`. The friendly name is the attribute of the result row (DSL rows and the
generated seed rows alike), the name ``order_by`` accepts (:mod:`turnmeter.query.ordering`), the
DSL's ``F`` attribute, and, through :data:`FILTER_KEYWORDS`, the facade's filter keywords and
the CLI's filter flags.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from turnmeter.errors import QueryError

Block = Literal["dimensions", "sum", "avg"]
Kind = Literal["string", "time", "date", "int"]

MINUTE = 60
#: Bucket width (seconds) of each time dimension; ``date`` buckets are UTC days.
GRANULARITY: Mapping[str, int] = {
    "datetimeMinute": MINUTE,
    "datetimeFiveMinutes": 5 * MINUTE,
    "datetimeFifteenMinutes": 15 * MINUTE,
    "datetimeHour": 60 * MINUTE,
    "date": 24 * 60 * MINUTE,
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One selectable field of a TURN group.

    ``name`` is the friendly (row attribute) name, ``schema`` the GraphQL field name inside
    ``block``, ``order`` the orderBy enum stem (``keyId``, ``sum_egressBytes``), ``kind`` the
    Python value type, and ``granularity`` the bucket (time dimensions) or the bucket the
    average is taken over (avg metrics), in seconds.
    """

    name: str
    block: Block
    schema: str
    kind: Kind
    order: str
    granularity: int | None = None
    #: The hash, computed once: specs are hashed in every query's checks and merges.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash(self._values()))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[type[FieldSpec], tuple[Any, ...]]:
        # Rebuilt by the constructor: a string's hash differs between processes.
        return FieldSpec, self._values()

    def _values(self) -> tuple[Any, ...]:
        return (self.name, self.block, self.schema, self.kind, self.order, self.granularity)

    @property
    def is_dimension(self) -> bool:
        return self.block == "dimensions"

    @property
    def is_time(self) -> bool:
        return self.kind in ("time", "date")


def _dimension(name: str, schema: str, kind: Kind) -> FieldSpec:
    return FieldSpec(name, "dimensions", schema, kind, schema, GRANULARITY.get(schema))


def _avg(name: str, schema: str, time_dimension: str) -> FieldSpec:
    return FieldSpec(name, "avg", schema, "int", f"avg_{schema}", GRANULARITY[time_dimension])


#: The time dimensions, the same five in every dataset.
_TIME_DIMENSIONS = (
    _dimension("date", "date", "date"),
    _dimension("minute", "datetimeMinute", "time"),
    _dimension("five_minutes", "datetimeFiveMinutes", "time"),
    _dimension("fifteen_minutes", "datetimeFifteenMinutes", "time"),
    _dimension("hour", "datetimeHour", "time"),
)

DIMENSIONS: tuple[FieldSpec, ...] = (
    _dimension("key_id", "keyId", "string"),
    _dimension("username", "username", "string"),
    _dimension("custom_identifier", "customIdentifier", "string"),
    _dimension("datacenter_city", "datacenterCity", "string"),
    _dimension("datacenter_code", "datacenterCode", "string"),
    _dimension("datacenter_country", "datacenterCountry", "string"),
    _dimension("datacenter_region", "datacenterRegion", "string"),
    *_TIME_DIMENSIONS,
)

METRICS: tuple[FieldSpec, ...] = (
    FieldSpec("egress_bytes", "sum", "egressBytes", "int", "sum_egressBytes"),
    FieldSpec("ingress_bytes", "sum", "ingressBytes", "int", "sum_ingressBytes"),
    _avg("avg_connections_minute", "concurrentConnectionsMinute", "datetimeMinute"),
    _avg("avg_connections_five_minutes", "concurrentConnectionsFiveMinutes", "datetimeFiveMinutes"),
    _avg(
        "avg_connections_fifteen_minutes",
        "concurrentConnectionsFifteenMinutes",
        "datetimeFifteenMinutes",
    ),
    _avg("avg_connections_hour", "concurrentConnectionsHour", "datetimeHour"),
)

#: Short metric spellings that :mod:`turnmeter.query.ordering` already uses (every dataset's).
SHORT_METRICS = {"egress": "egress_bytes", "ingress": "ingress_bytes"}


def _spellings() -> dict[str, FieldSpec]:
    names: dict[str, FieldSpec] = {}
    for spec in (*DIMENSIONS, *METRICS):
        names[spec.name] = spec
        names[spec.schema] = spec
        names[f"{spec.block}.{spec.schema}"] = spec
    for short, name in SHORT_METRICS.items():
        names[short] = names[name]
    return names


BY_NAME: Mapping[str, FieldSpec] = _spellings()
BY_FRIENDLY: Mapping[str, FieldSpec] = {spec.name: spec for spec in (*DIMENSIONS, *METRICS)}
#: The Realtime SFU's fields (``callsUsageAdaptiveGroups``: no ``avg`` block), for
#: :data:`turnmeter.query.datasets.SFU` and the generator's row fields.
SFU_DIMENSIONS: tuple[FieldSpec, ...] = (
    _dimension("app_id", "appId", "string"),
    _dimension("session_id", "sessionId", "string"),
    _dimension("track_id", "trackId", "string"),
    _dimension("track_type", "trackType", "string"),
    *_TIME_DIMENSIONS,
)
SFU_METRICS: tuple[FieldSpec, ...] = tuple(spec for spec in METRICS if spec.block == "sum")
#: The facade's filter keywords (``top_keys(..., datacenter="FRA")``) -> the dimension.
FILTER_KEYWORDS: Mapping[str, FieldSpec] = {
    "key_id": BY_FRIENDLY["key_id"],
    "username": BY_FRIENDLY["username"],
    "custom_identifier": BY_FRIENDLY["custom_identifier"],
    "datacenter": BY_FRIENDLY["datacenter_code"],
    "country": BY_FRIENDLY["datacenter_country"],
    "region": BY_FRIENDLY["datacenter_region"],
}
#: ``order_by`` names (friendly names and the short metric spellings) -> the field.
ORDER_NAMES: Mapping[str, FieldSpec] = {
    **{short: BY_FRIENDLY[name] for short, name in SHORT_METRICS.items()},
    **BY_FRIENDLY,
}


def lookup(name: str, want: Literal["dimension", "metric", "any"] = "any") -> FieldSpec:
    """The field ``name`` denotes, or a QueryError that lists the valid names."""
    if not isinstance(name, str):
        raise QueryError(f"field names must be strings, got {type(name).__name__}")
    spec = BY_NAME.get(name)
    if spec is not None and (want == "any" or spec.is_dimension == (want == "dimension")):
        return spec
    if want == "dimension":
        choices = ", ".join(s.name for s in DIMENSIONS)
        raise QueryError(f"unknown dimension {name!r}; dimensions are: {choices}")
    if want == "metric":
        choices = ", ".join(s.name for s in METRICS)
        raise QueryError(f"unknown metric {name!r}; metrics are: {choices}")
    choices = ", ".join(s.name for s in (*DIMENSIONS, *METRICS))
    raise QueryError(f"unknown field {name!r}; fields are: {choices}")


#: A dimension's spec from its friendly name, schema name and kind (other datasets' catalogs,
#: :mod:`turnmeter.query.datasets`, are built with it too).
dimension_spec = _dimension


def field_for_path(path: str) -> FieldSpec:
    """The field a response path (``dimensions.keyId``, ``sum.egressBytes``) names in TURN's
    catalog, else in the SFU's (what the generator names row fields by)."""
    spec = BY_NAME.get(path)
    if spec is not None:
        return spec
    for candidate in (*SFU_DIMENSIONS, *SFU_METRICS):
        if f"{candidate.block}.{candidate.schema}" == path:
            return candidate
    return lookup(path)  # the QueryError listing TURN's names
