"""The ``series`` and ``query`` commands: any grouping through the query DSL."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from turnmeter.cli.context import time_range_of
from turnmeter.cli.reports import run_query
from turnmeter.cli.runner import Report
from turnmeter.client import TurnUsage
from turnmeter.errors import ConfigError
from turnmeter.query import TURN, Query
from turnmeter.query.datasets import dataset_named


async def series_report(args: argparse.Namespace, turn: TurnUsage, now: datetime) -> Report:
    from turnmeter.cli.usage_cmd import GRANULARITIES

    span = time_range_of(args, now)
    dataset = dataset_named(getattr(args, "dataset", "turn"))
    dimension, average = GRANULARITIES[args.every]
    # The SFU has no averages: its series is egress and ingress only.
    with_average = (average,) if average and dataset is TURN else ()
    metrics = ("egress_bytes", "ingress_bytes", *with_average)
    query = Query(dimensions=(dimension,), metrics=metrics, order_by=(dimension,), dataset=dataset)
    rows = await run_query(args, turn, now, query, span)
    records = []
    for row in rows:
        values = row.as_dict()
        records.append({"bucket": values.pop(dimension), **values})
    return Report(
        title=f"Egress per {args.every}, {span.describe()}",
        rows=records,
        caption=f"{len(records)} buckets with traffic (buckets without traffic are absent)",
        chart=("bucket", "egress_bytes"),
        sparkline="egress_bytes",
    )


async def query_report(args: argparse.Namespace, turn: TurnUsage, now: datetime) -> Report:
    span = time_range_of(args, now)
    dimensions = _names(args.dimensions)
    metrics = _names(args.metrics)
    if not metrics:
        raise ConfigError("--metrics needs at least one metric, e.g. egress_bytes")
    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit must be at least 1")
    dataset = dataset_named(getattr(args, "dataset", "turn"))
    query = Query(
        dimensions=dimensions,
        metrics=metrics,
        order_by=_names(args.order_by),
        limit=args.limit,
        dataset=dataset,
    )
    rows = await run_query(args, turn, now, query, span)
    records = [row.as_dict() for row in rows]
    return Report(
        title=f"{'' if dataset is TURN else dataset.label + ' '}Query over {span.describe()}",
        rows=records,
        caption=f"{len(records)} rows",
        chart=_chart_columns(query),
    )


def _names(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def _chart_columns(query: Query) -> Any:
    # A chart needs one label column and one value: the first of each, by their friendly names.
    if len(query.dimensions) != 1:
        return None
    return query.dimensions[0], query.metrics[0]
