"""``Query``: what to ask the TURN node, checked when it is built.

A keyword API over an immutable value reads best here: a query is data (dimensions, metrics, a
filter, an order, a limit) that users build once and run over many ranges, compare, log and
tweak with :func:`dataclasses.replace`. Every rule that does not depend on the account's node
limits is enforced in the constructor, so a bad query fails where it is written.

The ``avg`` rule: ``avg.concurrentConnections<G>`` is the average of the concurrent connections
over ``G``-wide buckets; Cloudflare defines it for groups by the matching time dimension. A query
selecting ``avg_connections_<g>`` must select the matching dimension ``<g>`` (``minute``,
``five_minutes``, ``fifteen_minutes``, ``hour``): each group is then one bucket, lives in one
time window, and merging windows never has to average averages.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from turnmeter.errors import ConfigError, QueryError
from turnmeter.generated import OrderBy
from turnmeter.query.catalog import DIMENSIONS, FieldSpec
from turnmeter.query.conditions import Condition
from turnmeter.query.datasets import TURN, Dataset, check_condition
from turnmeter.query.ordering import to_order_by

#: Metrics a query selects when it names none: the billed quantity.
DEFAULT_METRICS = ("egress_bytes",)


@dataclass(frozen=True, slots=True)
class OrderKey:
    """One ``orderBy`` item: a selected field and its direction (in ``dataset``'s enum)."""

    field: FieldSpec
    descending: bool
    dataset: Dataset = dataclasses.field(default=TURN, compare=False)

    @property
    def enum(self) -> Any:
        return self.dataset.order_value(self.field, self.descending)


@dataclass(frozen=True, slots=True)
class Query:
    """A TURN usage question: group by ``dimensions``, report ``metrics``.

    ``where`` is a :class:`~turnmeter.query.conditions.Condition` built from ``F``;
    ``order_by`` names selected fields (``"-egress_bytes"`` for descending; the enum and
    :mod:`turnmeter.query.ordering` names work too); ``limit`` keeps the first N rows of the whole
    range (None: every row, paged as needed). The time range is given when the query runs.
    ``dataset`` is TURN's (the default) or :data:`~turnmeter.query.datasets.SFU`; names,
    conditions and orders are checked against its catalog.
    """

    dimensions: tuple[str, ...] = ()
    metrics: tuple[str, ...] = DEFAULT_METRICS
    where: Condition | None = None
    order_by: tuple[str | OrderBy, ...] = ()
    limit: int | None = None
    dataset: Dataset = TURN
    dimension_specs: tuple[FieldSpec, ...] = field(init=False, repr=False, compare=False)
    metric_specs: tuple[FieldSpec, ...] = field(init=False, repr=False, compare=False)
    order_keys: tuple[OrderKey, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Accept any iterable (a list reads naturally) but store tuples: the query stays hashable.
        for name in ("dimensions", "metrics", "order_by"):
            object.__setattr__(self, name, _names(getattr(self, name), name))
        if not isinstance(self.dataset, Dataset):
            raise QueryError(f"dataset must be TURN or SFU, got {self.dataset!r}")
        names = (self.dimensions, self.metrics, self.order_by, self.dataset)
        try:
            selected = _selection(*names)
        except TypeError:  # an unhashable name: checked uncached, for its own error
            selected = _selection.__wrapped__(*names)
        object.__setattr__(self, "dimension_specs", selected.dimension_specs)
        object.__setattr__(self, "metric_specs", selected.metric_specs)
        object.__setattr__(self, "order_keys", selected.order_keys)
        # Canonical friendly names: equal questions compare (and hash, and print) equal. A
        # query rebuilt from one (dataclasses.replace) already holds these very tuples.
        for name, canonical in zip(_CANONICAL, selected.names, strict=True):
            if getattr(self, name) is not canonical:
                object.__setattr__(self, name, canonical)
        if self.where is not None and not isinstance(self.where, Condition):
            raise QueryError(f"where must be a condition built from F, got {self.where!r}")
        if self.where is not None:
            check_condition(self.dataset, self.where)
        if self.limit is not None and (
            isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1
        ):
            raise QueryError(f"limit must be a positive integer or None, got {self.limit!r}")

    @property
    def total_order(self) -> tuple[OrderKey, ...]:
        """``order_keys``, then every other selected dimension ascending: no two groups tie.

        The order the server is asked for and the client sorts by, so a window's top N is the
        first N of one defined order (ties at the cut cannot pick arbitrary groups).
        """
        ordered = {key.field for key in self.order_keys}
        rest = (OrderKey(d, False, self.dataset) for d in self.dimension_specs if d not in ordered)
        return (*self.order_keys, *rest)

    @property
    def fields(self) -> tuple[FieldSpec, ...]:
        """Selected fields in row order: dimensions, then metrics."""
        return self.dimension_specs + self.metric_specs

    @property
    def time_dimensions(self) -> tuple[FieldSpec, ...]:
        """Selected time dimensions, coarsest first."""
        times = [d for d in self.dimension_specs if d.is_time]
        return tuple(sorted(times, key=lambda d: -(d.granularity or 0)))

    @property
    def has_avg(self) -> bool:
        return any(m.block == "avg" for m in self.metric_specs)


#: The fields that hold friendly names, in the order :class:`_Selected` gives them.
_CANONICAL = ("dimensions", "metrics", "order_by")


class _Selected(NamedTuple):
    """A checked selection: its specs, and its names written the one canonical way."""

    dimension_specs: tuple[FieldSpec, ...]
    metric_specs: tuple[FieldSpec, ...]
    order_keys: tuple[OrderKey, ...]
    names: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]


@lru_cache(maxsize=512)
def _selection(
    dimensions: tuple[str, ...],
    metrics: tuple[str, ...],
    order_by: tuple[str | OrderBy, ...],
    dataset: Dataset,
) -> _Selected:
    """The specs a selection names, checked (QueryError otherwise); kept per distinct selection,
    since queries are rebuilt often (``dataclasses.replace`` per call) and the answer is fixed."""
    lookup = dataset.lookup
    dims = _unique([lookup(n, "dimension") for n in dimensions], "dimension")
    metric_specs = _unique([lookup(n, "metric") for n in metrics], "metric")
    if not dims and not metric_specs:
        raise QueryError("a query must select at least one dimension or metric")
    _check_avgs(dims, metric_specs)
    selected = set(dims) | set(metric_specs)
    keys = tuple(_order_key(item, selected, dataset) for item in order_by)
    names = (
        tuple(d.name for d in dims),
        tuple(m.name for m in metric_specs),
        tuple(("-" if k.descending else "") + k.field.name for k in keys),
    )
    return _Selected(dims, metric_specs, keys, names)


def _names(value: Any, what: str) -> tuple[Any, ...]:
    if type(value) is tuple:  # what every rebuilt query holds: nothing to convert
        return value
    if isinstance(value, str | OrderBy):
        return (value,)
    if not isinstance(value, Iterable):
        raise QueryError(f"{what} must be a list of names, got {value!r}")
    return tuple(value)


def _unique(specs: list[FieldSpec], what: str) -> tuple[FieldSpec, ...]:
    seen: set[FieldSpec] = set()
    for spec in specs:
        if spec in seen:
            raise QueryError(f"{what} {spec.name!r} is selected twice")
        seen.add(spec)
    return tuple(specs)


def _check_avgs(dims: tuple[FieldSpec, ...], metrics: tuple[FieldSpec, ...]) -> None:
    grains = {d.granularity: d for d in dims if d.kind == "time"}
    for metric in metrics:
        if metric.block != "avg" or metric.granularity in grains:
            continue
        wanted = next(
            d for d in DIMENSIONS if d.kind == "time" and d.granularity == metric.granularity
        )
        raise QueryError(
            f"{metric.name} is an average over {wanted.name.replace('_', ' ')} buckets and is "
            f"only defined per bucket: add the {wanted.name!r} dimension (Cloudflare reports "
            f"avg.{metric.schema} for groups by {wanted.schema})"
        )


def _order_key(item: Any, selected: set[FieldSpec], dataset: Dataset) -> OrderKey:
    if isinstance(item, str) and item.removeprefix("-") in dataset.by_name:
        spec, descending = dataset.by_name[item.removeprefix("-")], item.startswith("-")
    elif isinstance(item, dataset.order_enum) or (
        isinstance(item, str) and item in dataset.order_enum.__members__
    ):
        value = item.value if isinstance(item, dataset.order_enum) else item
        stem, _, direction = str(value).rpartition("_")
        spec, descending = dataset.by_order_stem[stem], direction == "DESC"
    elif dataset is not TURN:
        names = ", ".join(sorted(s.name for s in selected))
        raise QueryError(f"unknown {dataset.label} order_by {item!r}; selected fields: {names}")
    else:
        try:
            enum = to_order_by(item)
        except ConfigError as exc:
            raise QueryError(str(exc)) from None
        stem, _, direction = enum.value.rpartition("_")
        spec, descending = TURN.by_order_stem[stem], direction == "DESC"
    if spec not in selected:
        raise QueryError(
            f"order_by {spec.name!r} is not selected: add it to dimensions or metrics "
            "(results are merged and sorted on the values that come back)"
        )
    return OrderKey(spec, descending, dataset)
