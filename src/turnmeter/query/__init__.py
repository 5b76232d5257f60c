"""The query DSL: any dimensions, metrics, filter, order and limit, over any time range.

::

    from turnmeter.query import F, Query

    q = Query(
        dimensions=["datacenter_country", "hour"],
        metrics=["egress_bytes", "avg_connections_hour"],
        where=F.key_id.in_(keys) & (F.username.like("bot-%") | (F.custom_identifier != "x")),
        order_by=["-egress_bytes"],
        limit=50,
    )
    rows = await turn.query(q, since, until)

The SFU's dataset has its own catalog: ``Query(dimensions=["app_id"], dataset=SFU,
where=SfuF.track_type == "video")``, run with :meth:`turnmeter.SfuUsage.query`.

Run it with :meth:`turnmeter.TurnUsage.query` or :meth:`turnmeter.TurnUsage.stream`; the
windows, pages and merging are in :mod:`turnmeter.query.windows`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from turnmeter.query.catalog import DIMENSIONS, METRICS, FieldSpec
    from turnmeter.query.conditions import Condition, F
    from turnmeter.query.datasets import SFU, TURN, Dataset, SfuF
    from turnmeter.query.model import Query
    from turnmeter.query.rows import QueryRow

__all__ = [
    "DIMENSIONS",
    "METRICS",
    "SFU",
    "TURN",
    "Condition",
    "Dataset",
    "F",
    "FieldSpec",
    "Query",
    "QueryRow",
    "SfuF",
]

#: Names load on first use: the facade's filters and listings (submodules) do not pay for the
#: DSL's model and conditions.
_LAZY = {
    "DIMENSIONS": "catalog",
    "METRICS": "catalog",
    "FieldSpec": "catalog",
    "Condition": "conditions",
    "F": "conditions",
    "SFU": "datasets",
    "TURN": "datasets",
    "Dataset": "datasets",
    "SfuF": "datasets",
    "Query": "model",
    "QueryRow": "rows",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
