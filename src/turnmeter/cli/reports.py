"""What the usage commands fetch, as rows ready to write.

Rankings, breakdowns and series go through the query DSL, so any range works: wide ranges are
split into windows and large results paged, with a progress bar on a terminal.
"""

from __future__ import annotations

import argparse
import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Any

from turnmeter.cli.chart import ChartSpec
from turnmeter.cli.conditions import condition_for
from turnmeter.cli.context import config_of, time_range_of
from turnmeter.cli.options import filters_from
from turnmeter.cli.progress import progress_bar
from turnmeter.cli.render import format_duration
from turnmeter.cli.runner import Report
from turnmeter.client import TurnUsage
from turnmeter.errors import ConfigError
from turnmeter.pricing import Pricing
from turnmeter.query import TURN, Query, QueryRow
from turnmeter.query.timerange import TimeRange
from turnmeter.sfu import SfuUsage

#: Cents to four places: enough for per-customer shares of a cent.
MONEY_PLACES = Decimal("0.0001")

#: What each ranking command groups by.
TOP_DIMENSIONS = {
    "top-keys": "key_id",
    "top-customers": "custom_identifier",
    "top-users": "username",
}
#: What a ranked dimension is, in words (chart axes, titles).
RANKED = {
    "key_id": ("TURN key id", "TURN keys"),
    "custom_identifier": ("custom identifier", "custom identifiers"),
    "username": ("TURN username", "TURN usernames"),
}
#: filter flag destination -> the flag's word, for titles.
_FILTER_WORDS = {
    "key_id": "key",
    "username": "user",
    "custom_identifier": "customer",
    "datacenter": "datacenter",
    "country": "country",
    "region": "region",
}


def filters_title(args: argparse.Namespace) -> str:
    """The command line's filters for a title: `` (customer tango; username like bot-%)``."""
    parts = [
        f"{_FILTER_WORDS[name]} {', '.join(values)}" for name, values in filters_from(args).items()
    ]
    parts.extend(getattr(args, "filter", None) or [])
    return f" ({'; '.join(parts)})" if parts else ""


def bar_chart(label: str, value: str = "egress_bytes") -> ChartSpec:
    """Bars of ``value`` per ``label``, the category axis named for what is ranked."""
    return ChartSpec(label, (value,), RANKED.get(label, (label.replace("_", " "),))[0])


def pricing_of(args: argparse.Namespace) -> Pricing:
    config = config_of(args)
    price = getattr(args, "price_per_gb", None)
    free = getattr(args, "free_tier_gb", None)
    return Pricing.of(
        price if price is not None else config.get("price_per_gb"),
        free if free is not None else config.get("free_tier_gb"),
    )


def money(amount: Decimal) -> Decimal:
    return amount.quantize(MONEY_PLACES)


async def run_query(
    args: argparse.Namespace,
    turn: TurnUsage,
    now: datetime,
    query: Query,
    span: TimeRange,
    *,
    progress: bool = True,
) -> list[QueryRow]:
    """Run ``query`` with the command line's filters over ``span``, drawing progress."""
    flags, expressions = filters_from(args), getattr(args, "filter", None) or []
    where = condition_for(flags, expressions, now, query.dataset)
    if where is not None:
        query = dataclasses.replace(
            query, where=where if query.where is None else query.where & where
        )
    clip = bool(getattr(args, "clip", False))
    # An SFU query (``--dataset sfu``) runs through SfuUsage over the same client.
    host: Any = turn if query.dataset is TURN else SfuUsage(turn)
    with progress_bar(args.command, enabled=None if progress else False) as on_progress:
        rows: list[QueryRow] = await host.query(
            query, span.since, span.until, on_progress=on_progress, clock=lambda: now, clip=clip
        )
        return rows


def ranked(
    args: argparse.Namespace, label: str, rows: list[QueryRow], total: int, title: str, caption: str
) -> Report:
    """``rows`` (one per ``label`` value) as a ranking by egress: rank, share of ``total`` and
    cost at list price a row, and bars of egress per ``label``."""
    pricing = pricing_of(args)
    ranking = [
        {
            "rank": rank,
            label: getattr(row, label),
            "egress_bytes": row.egress_bytes,
            "share_pct": round(100 * row.egress_bytes / total, 2) if total else 0.0,
            "cost_usd": money(pricing.list_cost(row.egress_bytes)),
        }
        for rank, row in enumerate(rows, start=1)
    ]
    return Report(title=title, rows=ranking, caption=caption, chart=bar_chart(label))


async def range_total(
    args: argparse.Namespace, turn: TurnUsage, now: datetime, span: TimeRange
) -> tuple[int, int]:
    """Egress and ingress over the range with the command line's filters."""
    rows = await run_query(args, turn, now, Query(metrics=("egress_bytes", "ingress_bytes")), span)
    if not rows:
        return 0, 0
    return rows[0].egress_bytes, rows[0].ingress_bytes


async def top_report(args: argparse.Namespace, turn: TurnUsage, now: datetime) -> Report:
    if args.limit < 0:
        raise ConfigError("--limit must be 0 (every row) or more")
    span = time_range_of(args, now)
    label = TOP_DIMENSIONS[args.top]
    query = Query(dimensions=(label,), order_by=("-egress_bytes",), limit=args.limit or None)
    rows = await run_query(args, turn, now, query, span)
    total, _ = await range_total(args, turn, now, span)
    which = "All" if not args.limit else "Top"
    title = f"{which} {len(rows)} {RANKED[label][1]} by egress{filters_title(args)}, "
    caption = f"range total {total:,} bytes; cost at list price, before the free tier"
    return ranked(args, label, rows, total, title + span.describe(), caption)


#: usage subject -> (the dimension its rows are broken down by).
_BREAKDOWN = {"custom_identifier": "key_id", "key_id": "custom_identifier", "username": "key_id"}


async def usage_report(args: argparse.Namespace, turn: TurnUsage, now: datetime) -> Report:
    span = time_range_of(args, now)
    filters = filters_from(args)
    chosen = [name for name in _BREAKDOWN if name in filters]
    if len(chosen) != 1 or len(filters[chosen[0]]) != 1:
        raise ConfigError("usage needs exactly one of --customer, --key or --user, with one value")
    subject, label = chosen[0], _BREAKDOWN[chosen[0]]
    query = Query(dimensions=(label,), order_by=("-egress_bytes",))
    rows = await run_query(args, turn, now, query, span)
    total = sum(row.egress_bytes for row in rows)
    value = filters[subject][0]
    title = f"Egress of {subject.replace('_', ' ')} {value!r} by {RANKED[label][0]}, "
    return ranked(args, label, rows, total, title + span.describe(), f"total {total:,} bytes")


async def total_report(args: argparse.Namespace, turn: TurnUsage, now: datetime) -> Report:
    span = time_range_of(args, now)
    egress, ingress = await range_total(args, turn, now, span)
    row = {
        "since": span.since,
        "until": span.until,
        "egress_bytes": egress,
        "ingress_bytes": ingress,
        "cost_usd": money(pricing_of(args).list_cost(egress)),
    }
    return Report(
        title=f"Total, {span.describe()}",
        rows=[row],
        caption="cost at list price, before the monthly free tier (see `turnmeter budget`)",
    )


async def limits_report(args: argparse.Namespace, turn: TurnUsage, now: datetime) -> Report:
    limits = await turn.limits()
    row = {
        "enabled": limits.enabled,
        "max_duration_s": int(limits.max_duration.total_seconds()),
        "not_older_than_s": int(limits.not_older_than.total_seconds()),
        "max_page_size": limits.max_page_size,
        "max_number_of_fields": limits.max_number_of_fields,
        "available_fields": len(limits.available_fields),
    }
    return Report(
        title="TURN dataset limits (callsTurnUsageAdaptiveGroups)",
        rows=[row],
        caption=f"widest range {format_duration(limits.max_duration.total_seconds())}, oldest "
        f"data {format_duration(limits.not_older_than.total_seconds())} ago",
    )
