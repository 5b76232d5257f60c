"""The datasets the DSL can ask: TURN's and the Realtime SFU's, one catalog each, one mechanism.

A :class:`Dataset` is everything that differs between them: the node's name and GraphQL type
names, its catalog of dimensions and metrics (friendly names, spellings), the generated filter
input and ``orderBy`` enum, and the operation name DSL queries go under. The rest (``Query``,
``F``-style conditions, windows, keyset pages, merging, the compiled decoder) is shared.

* :data:`TURN` — ``callsTurnUsageAdaptiveGroups``: the catalog of :mod:`turnmeter.query.catalog`.
* :data:`SFU` — ``callsUsageAdaptiveGroups``: ``app_id``, ``session_id``, ``track_id``,
  ``track_type``, the five time dimensions; ``egress_bytes`` and ``ingress_bytes`` (no ``avg``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from turnmeter.errors import QueryError
from turnmeter.generated import FilterInput, OrderBy, SfuFilterInput, SfuOrderBy
from turnmeter.query import catalog
from turnmeter.query.catalog import FieldSpec
from turnmeter.query.conditions import (
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    DateField,
    StringField,
    TimeField,
)

Want = Literal["dimension", "metric", "any"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """One dataset node and its catalog (compared and hashed by identity: there are two)."""

    key: str  # "turn", "sfu": what a command line or a result names it by
    label: str  # "TURN", "SFU": for messages
    node: str  # the account field
    type_prefix: str  # "AccountCallsTurnUsageAdaptiveGroups": the group type's name
    operation_name: str  # what DSL queries are sent as
    dimensions: tuple[FieldSpec, ...]
    metrics: tuple[FieldSpec, ...]
    filter_input: type[BaseModel] = field(repr=False)
    order_enum: type[enum.Enum] = field(repr=False)
    short_metrics: Mapping[str, str] = field(default_factory=dict, repr=False)
    by_name: Mapping[str, FieldSpec] = field(init=False, repr=False)
    by_friendly: Mapping[str, FieldSpec] = field(init=False, repr=False)
    by_order_stem: Mapping[str, FieldSpec] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        names: dict[str, FieldSpec] = {}
        for spec in (*self.dimensions, *self.metrics):
            names[spec.name] = names[spec.schema] = names[f"{spec.block}.{spec.schema}"] = spec
        for short, name in self.short_metrics.items():
            names[short] = names[name]
        fields = (*self.dimensions, *self.metrics)
        object.__setattr__(self, "by_name", names)
        object.__setattr__(self, "by_friendly", {spec.name: spec for spec in fields})
        object.__setattr__(self, "by_order_stem", {spec.order: spec for spec in fields})

    def __reduce__(self) -> tuple[Callable[[str], Dataset], tuple[str]]:
        # Pickled by name: there are two, compared by identity, so a copy would equal neither.
        return dataset_named, (self.key,)

    def lookup(self, name: str, want: Want = "any") -> FieldSpec:
        """The field ``name`` denotes in this dataset, or a QueryError listing the valid names."""
        if not isinstance(name, str):
            raise QueryError(f"field names must be strings, got {type(name).__name__}")
        spec = self.by_name.get(name)
        if spec is not None and (want == "any" or spec.is_dimension == (want == "dimension")):
            return spec
        kinds = {"dimension": self.dimensions, "metric": self.metrics}
        choices = kinds.get(want, (*self.dimensions, *self.metrics))
        word = want if want != "any" else "field"
        listed = ", ".join(s.name for s in choices)
        # TURN's messages are the ones TURN always had; another dataset says which it is.
        of = "" if self.key == "turn" else f"{self.label} "
        raise QueryError(f"unknown {of}{word} {name!r}; {word}s are: {listed}")

    def order_value(self, spec: FieldSpec, descending: bool) -> Any:
        """The generated ``orderBy`` enum member for ``spec`` in one direction."""
        return self.order_enum[f"{spec.order}_{'DESC' if descending else 'ASC'}"]

    def type_name(self, block: str = "") -> str:
        """The group type (``block=""``) or a block's type (``"dimensions"``, ``"sum"``)."""
        return self.type_prefix + block.capitalize()


TURN = Dataset(
    key="turn",
    label="TURN",
    node="callsTurnUsageAdaptiveGroups",
    type_prefix="AccountCallsTurnUsageAdaptiveGroups",
    operation_name="TurnUsageQuery",
    dimensions=catalog.DIMENSIONS,
    metrics=catalog.METRICS,
    filter_input=FilterInput,
    order_enum=OrderBy,
    short_metrics=catalog.SHORT_METRICS,
)

SFU = Dataset(
    key="sfu",
    label="SFU",
    node="callsUsageAdaptiveGroups",
    type_prefix="AccountCallsUsageAdaptiveGroups",
    operation_name="SfuUsageQuery",
    dimensions=catalog.SFU_DIMENSIONS,
    metrics=catalog.SFU_METRICS,
    filter_input=SfuFilterInput,
    order_enum=SfuOrderBy,
    short_metrics=catalog.SHORT_METRICS,
)

#: Every dataset by its key.
DATASETS: Mapping[str, Dataset] = {TURN.key: TURN, SFU.key: SFU}


def dataset_named(key: str) -> Dataset:
    """The dataset ``key`` ("turn" or "sfu") names."""
    found = DATASETS.get(key)
    if found is None:
        raise QueryError(f"unknown dataset {key!r}; datasets are: {', '.join(DATASETS)}")
    return found


class SfuF:
    """The SFU's dimensions to filter on: ``SfuF.app_id == "..."``, ``SfuF.hour >= since``."""

    app_id = StringField(SFU.by_friendly["app_id"])
    session_id = StringField(SFU.by_friendly["session_id"])
    track_id = StringField(SFU.by_friendly["track_id"])
    track_type = StringField(SFU.by_friendly["track_type"])
    date = DateField(SFU.by_friendly["date"])
    minute = TimeField(SFU.by_friendly["minute"])
    five_minutes = TimeField(SFU.by_friendly["five_minutes"])
    fifteen_minutes = TimeField(SFU.by_friendly["fifteen_minutes"])
    hour = TimeField(SFU.by_friendly["hour"])


def check_condition(dataset: Dataset, condition: Condition) -> None:
    """Refuse a condition on a dimension ``dataset`` does not have (``F.key_id`` on the SFU)."""
    if isinstance(condition, AllOf | AnyOf):
        for item in condition.items:
            check_condition(dataset, item)
    elif isinstance(condition, Comparison) and condition.field not in dataset.dimensions:
        names = ", ".join(spec.name for spec in dataset.dimensions)
        raise QueryError(
            f"the {dataset.label} dataset has no dimension {condition.field.name!r} to filter "
            f"on; its dimensions are: {names}"
        )
