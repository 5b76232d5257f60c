"""What each usage command fetches, as rows ready to write."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from turnmeter.cli.context import config_of, time_range_of
from turnmeter.cli.options import filters_from
from turnmeter.cli.runner import Report
from turnmeter.client import DEFAULT_PAGE_LIMIT, TurnUsage
from turnmeter.errors import ConfigError
from turnmeter.pricing import Pricing


def pricing_of(args: argparse.Namespace) -> Pricing:
    config = config_of(args)
    return Pricing(
        price_per_gb=_first(getattr(args, "price_per_gb", None), config.get("price_per_gb"), 0.05),
        free_tier_gb=_first(getattr(args, "free_tier_gb", None), config.get("free_tier_gb"), 1000),
    )


def _first(*values: Any) -> Any:
    return next(value for value in values if value is not None)


def ranked(
    items: list[tuple[str, int]], label: str, pricing: Pricing, total: int
) -> list[dict[str, Any]]:
    """Rows with rank, share of the range's total and cost at list price."""
    return [
        {
            "rank": rank,
            label: name,
            "egress_bytes": egress,
            "share_pct": round(100 * egress / total, 2) if total else 0.0,
            "cost_usd": round(pricing.list_cost(egress), 4),
        }
        for rank, (name, egress) in enumerate(items, start=1)
    ]


async def top_report(args: argparse.Namespace, turn: TurnUsage, now: datetime) -> Report:
    span = time_range_of(args, now)
    filters = filters_from(args)
    if args.limit < 1:
        raise ConfigError("--limit must be at least 1")
    total = (await turn.total(span.since, span.until, **filters)).egress_bytes
    if args.top == "top-keys":
        keys = await turn.top_keys(span.since, span.until, limit=args.limit, **filters)
        items, label = [(k.key_id, k.egress_bytes) for k in keys], "key_id"
    else:
        customers = await turn.top_custom_identifiers(
            span.since, span.until, limit=args.limit, **filters
        )
        items = [(c.custom_identifier, c.egress_bytes) for c in customers]
        label = "custom_identifier"
    return Report(
        title=f"Top {len(items)} by egress, {span.describe()}",
        rows=ranked(items, label, pricing_of(args), total),
        caption=f"range total {total:,} bytes; cost at list price, before the free tier",
        chart=(label, "egress_bytes"),
    )


async def usage_report(args: argparse.Namespace, turn: TurnUsage, now: datetime) -> Report:
    span = time_range_of(args, now)
    filters = filters_from(args)
    chosen = [name for name in ("custom_identifier", "key_id", "username") if name in filters]
    if len(chosen) != 1 or len(filters[chosen[0]]) != 1:
        raise ConfigError("usage needs exactly one of --customer, --key or --user, with one value")
    subject = chosen[0]
    value = filters.pop(subject)[0]
    pricing = pricing_of(args)
    if subject == "custom_identifier":
        rows = await turn.usage_for_custom_identifier(
            value, span.since, span.until, limit=DEFAULT_PAGE_LIMIT, **filters
        )
        items = [(r.key_id, r.egress_bytes) for r in rows]
        label = "key_id"
    elif subject == "key_id":
        customers = await turn.top_custom_identifiers(
            span.since, span.until, limit=DEFAULT_PAGE_LIMIT, key_id=value, **filters
        )
        items = [(c.custom_identifier, c.egress_bytes) for c in customers]
        label = "custom_identifier"
    else:
        keys = await turn.top_keys(
            span.since, span.until, limit=DEFAULT_PAGE_LIMIT, username=value, **filters
        )
        items, label = [(k.key_id, k.egress_bytes) for k in keys], "key_id"
    total = sum(egress for _, egress in items)
    return Report(
        title=f"Usage of {subject.replace('_', ' ')} {value!r}, {span.describe()}",
        rows=ranked(items, label, pricing, total),
        caption=f"total {total:,} bytes",
        chart=(label, "egress_bytes"),
    )


async def total_report(args: argparse.Namespace, turn: TurnUsage, now: datetime) -> Report:
    span = time_range_of(args, now)
    totals = await turn.total(span.since, span.until, **filters_from(args))
    row = {
        "since": span.since,
        "until": span.until,
        "egress_bytes": totals.egress_bytes,
        "ingress_bytes": totals.ingress_bytes,
        "cost_usd": round(pricing_of(args).list_cost(totals.egress_bytes), 4),
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
        caption=f"widest range {limits.max_duration}, oldest data {limits.not_older_than} ago",
    )
