"""``orderBy`` values: the generated enum, or friendly names mapped onto it.

Friendly names are a metric or dimension in snake case, with a leading ``-`` for descending:
``"-egress"``, ``"ingress"``, ``"key_id"``, ``"-minute"``, ``"-avg_connections_hour"``.
The enum's own names (``"sum_egressBytes_DESC"``) are accepted too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from turnmeter.errors import ConfigError
from turnmeter.generated import OrderBy

OrderByArg = OrderBy | str

#: Friendly name -> the schema's orderBy field (without its _ASC/_DESC suffix).
FRIENDLY_FIELDS: Mapping[str, str] = {
    "egress": "sum_egressBytes",
    "ingress": "sum_ingressBytes",
    "avg_connections_minute": "avg_concurrentConnectionsMinute",
    "avg_connections_five_minutes": "avg_concurrentConnectionsFiveMinutes",
    "avg_connections_fifteen_minutes": "avg_concurrentConnectionsFifteenMinutes",
    "avg_connections_hour": "avg_concurrentConnectionsHour",
    "key_id": "keyId",
    "username": "username",
    "custom_identifier": "customIdentifier",
    "datacenter_city": "datacenterCity",
    "datacenter_code": "datacenterCode",
    "datacenter_country": "datacenterCountry",
    "datacenter_region": "datacenterRegion",
    "date": "date",
    "minute": "datetimeMinute",
    "five_minutes": "datetimeFiveMinutes",
    "fifteen_minutes": "datetimeFifteenMinutes",
    "hour": "datetimeHour",
}


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
