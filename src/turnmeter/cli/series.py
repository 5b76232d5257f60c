"""The ``series`` and ``query`` commands: any grouping through the query DSL."""

from __future__ import annotations

import argparse
import dataclasses
from datetime import datetime
from typing import Any

from turnmeter.cli.buckets import CONNECTIONS, EVERY, fill_series
from turnmeter.cli.chart import ChartSpec
from turnmeter.cli.context import time_range_of
from turnmeter.cli.reports import filters_title, run_query
from turnmeter.cli.runner import Report
from turnmeter.client import TurnUsage
from turnmeter.errors import ConfigError
from turnmeter.query import TURN, Query
from turnmeter.query.datasets import Dataset, dataset_named

#: The series chart's second axis, and the table's note on what the column means.
CONNECTIONS_AXIS = "connections open (mean over the bucket)"
_CONNECTIONS_NOTE = (
    "connections open: the mean number of connections open at once during the bucket"
)
#: query dimensions that are time buckets, with their width in seconds (a line, not bars).
_TIME_DIMENSIONS = {every.dimension: every.seconds for every in EVERY.values()}


async def series_report(args: argparse.Namespace, turn: TurnUsage, now: datetime) -> Report:
    span = time_range_of(args, now)
    dataset = dataset_named(getattr(args, "dataset", "turn"))
    every = EVERY[args.every]
    if dataset is not TURN:
        # The SFU has no averages: its series is egress and ingress only.
        every = dataclasses.replace(every, average=None)
    metrics = ("egress_bytes", "ingress_bytes") + ((every.average,) if every.average else ())
    query = Query(
        dimensions=(every.dimension,),
        metrics=metrics,
        order_by=(every.dimension,),
        dataset=dataset,
    )
    rows = await run_query(args, turn, now, query, span)
    found = {getattr(row, every.dimension): row.as_dict() for row in rows}
    keep_empty = not args.skip_empty
    records, empty, partial = fill_series(span, every, found, keep_empty=keep_empty)
    chart_rows = records if keep_empty else fill_series(span, every, found, keep_empty=True)[0]
    notes = [f"{len(records)} buckets of one {every.noun}"]
    if empty:
        notes.append(
            f"{len(empty)} without traffic, "
            + ("shown as 0 (--skip-empty leaves them out)" if keep_empty else "left out")
        )
    if partial:
        notes.append("partial = the range covers only part of the bucket")
    if every.average:
        notes.append(_CONNECTIONS_NOTE)
    service = "" if dataset is TURN else f"{dataset.label} "
    return Report(
        title=f"{service}Egress and ingress per {every.noun}{filters_title(args)}, "
        f"{span.describe()}",
        rows=records,
        caption="; ".join(notes),
        chart=ChartSpec(
            label="bucket",
            values=("egress_bytes", "ingress_bytes"),
            axis="time (UTC)",
            secondary=CONNECTIONS if args.chart_connections and every.average else None,
            secondary_axis=CONNECTIONS_AXIS,
            bucket_seconds=every.seconds,
            gaps=frozenset(bucket.label(every) for bucket in empty),
            partial=frozenset(bucket.label(every) for bucket in partial),
        ),
        chart_rows=chart_rows,
        sparkline="egress_bytes",
        columns=tuple(chart_rows[0]) if chart_rows else (),
    )


async def query_report(args: argparse.Namespace, turn: TurnUsage, now: datetime) -> Report:
    span = time_range_of(args, now)
    dimensions = _names(args.dimensions)
    metrics = _names(args.metrics)
    if not metrics:
        raise ConfigError("--metrics needs at least one metric, e.g. egress_bytes")
    if args.limit is not None and args.limit < 0:
        raise ConfigError("--limit must be 0 (every row) or more")
    dataset = dataset_named(getattr(args, "dataset", "turn"))
    query = Query(
        dimensions=dimensions,
        metrics=metrics,
        order_by=_names(args.order_by),
        limit=args.limit or None,
        dataset=dataset,
    )
    rows = await run_query(args, turn, now, query, span)
    records = [row.as_dict() for row in rows]
    what = ", ".join(dataset.lookup(m, "metric").name.removesuffix("_bytes") for m in metrics)
    names = ", ".join(dataset.lookup(d, "dimension").name for d in dimensions)
    heading = f"{what}{f' by {names}' if dimensions else ''}".replace("_", " ")
    heading = heading[:1].upper() + heading[1:]
    service = "" if dataset is TURN else f"{dataset.label} "
    return Report(
        title=f"{service}{heading}{filters_title(args)}, {span.describe()}",
        rows=records,
        caption=f"{len(records)} rows",
        chart=_chart_spec(dataset, dimensions, metrics),
    )


def query_chart_check(args: argparse.Namespace) -> None:
    """``query --chart`` needs one dimension to put on the axis (checked before the query)."""
    if len(_names(args.dimensions)) != 1:
        raise ConfigError(
            "query --chart needs exactly one --dimensions value to put on the chart's axis, "
            f"got {len(_names(args.dimensions))}"
        )


def _names(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def _chart_spec(dataset: Dataset, dimensions: tuple[str, ...], metrics: tuple[str, ...]) -> Any:
    # One label column (the dimension) and one value (the first metric), by friendly names.
    if len(dimensions) != 1:
        return None
    label = dataset.lookup(dimensions[0], "dimension").name
    value = dataset.lookup(metrics[0], "metric").name
    if label in _TIME_DIMENSIONS:
        return ChartSpec(label, (value,), "time (UTC)", bucket_seconds=_TIME_DIMENSIONS[label])
    return ChartSpec(label, (value,), label.replace("_", " "), order_by_value=True)
