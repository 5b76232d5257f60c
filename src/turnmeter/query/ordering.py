"""``orderBy`` values: the generated enum, or friendly names mapped onto it.

Friendly names are a metric or dimension in snake case, with a leading ``-`` for descending:
``"-egress"``, ``"ingress"``, ``"key_id"``, ``"-minute"``, ``"-avg_connections_hour"``.
The enum's own names (``"sum_egressBytes_DESC"``) are accepted too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from turnmeter.errors import ConfigError
from turnmeter.generated import OrderBy
from turnmeter.query.catalog import ORDER_NAMES

OrderByArg = OrderBy | str

#: Friendly name -> the schema's orderBy field (without its _ASC/_DESC suffix), from the catalog.
FRIENDLY_FIELDS: Mapping[str, str] = {name: spec.order for name, spec in ORDER_NAMES.items()}


def order_by_values(order_by: OrderByArg | Iterable[OrderByArg] | None) -> list[OrderBy] | None:
    """The enum list for ``order_by``; None keeps the operation's default order."""
    if order_by is None:
        return None
    items = [order_by] if isinstance(order_by, OrderBy | str) else list(order_by)
    return [to_order_by(item) for item in items]


def to_order_by(item: OrderByArg) -> OrderBy:
    """One friendly name or enum name as the generated enum."""
    if isinstance(item, OrderBy):
        return item
    if not isinstance(item, str):
        raise ConfigError(f"order_by items must be strings or OrderBy, got {type(item).__name__}")
    if item in OrderBy.__members__:
        return OrderBy[item]
    descending = item.startswith("-")
    name = item.removeprefix("-")
    field = FRIENDLY_FIELDS.get(name)
    if field is None:
        known = ", ".join(sorted(FRIENDLY_FIELDS))
        raise ConfigError(f"unknown order_by {item!r}; use one of {known} (prefix - for DESC)")
    return OrderBy[f"{field}_{'DESC' if descending else 'ASC'}"]
