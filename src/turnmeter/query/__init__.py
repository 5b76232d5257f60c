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

from typing import TYPE_CHECKING

from turnmeter.lazy import lazy_getattr

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
__getattr__ = lazy_getattr(
    __name__,
    {
        "turnmeter.query.catalog": ("DIMENSIONS", "METRICS", "FieldSpec"),
        "turnmeter.query.conditions": ("Condition", "F"),
        "turnmeter.query.datasets": ("SFU", "TURN", "Dataset", "SfuF"),
        "turnmeter.query.model": ("Query",),
        "turnmeter.query.rows": ("QueryRow",),
    },
    globals(),
)
