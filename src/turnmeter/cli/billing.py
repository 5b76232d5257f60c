"""What ``budget`` and ``export`` fetch."""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from turnmeter.budget import BudgetGuard
from turnmeter.cli.conditions import condition_for
from turnmeter.cli.context import time_range_of
from turnmeter.cli.ledger_source import LedgerSource
from turnmeter.cli.options import filters_from
from turnmeter.cli.reports import money, pricing_of, run_query
from turnmeter.cli.runner import Report
from turnmeter.client import TurnUsage
from turnmeter.errors import ConfigError
from turnmeter.pricing import Pricing, as_decimal, is_over_budget
from turnmeter.query import F, Query
from turnmeter.query.timerange import TimeRange, month_start

EXPORT_COLUMNS = (
    "period_start",
    "period_end",
    "custom_identifier",
    "egress_bytes",
    "ingress_bytes",
    "egress_gb",
    "cost_usd",
)
#: Gigabytes to the byte-and-a-bit: six places of a decimal GB are kilobytes.
GB_PLACES = Decimal("0.000001")


async def budget_report(args: argparse.Namespace, turn: TurnUsage, now: datetime) -> Report:
    if args.key_id and args.custom_identifier:
        raise ConfigError("budget takes --key or --customer, not both")
    pricing = pricing_of(args)
    guard = BudgetGuard(
        turn,
        key_id=args.key_id,
        custom_identifier=args.custom_identifier,
        price_per_gb=pricing.price_per_gb,
        free_tier_gb=pricing.free_tier_gb,
        clock=lambda: now,
    )
    usage = await guard.refresh()
    row: dict[str, object] = {
        "month_start": usage.month_start,
        "as_of": usage.as_of,
        "egress_bytes": usage.egress_bytes,
        "egress_gb": usage.gigabytes.quantize(GB_PLACES),
        "cost_usd": money(usage.cost_usd),
        "free_tier_left_bytes": pricing.free_tier_left_bytes(usage.egress_bytes),
    }
    over = False
    if args.budget is not None:
        budget = as_decimal(args.budget, "--budget")
        row["budget_usd"] = money(budget)
        row["budget_left_usd"] = money(budget - usage.cost_usd)
        over = is_over_budget(usage.cost_usd, budget)
        row["over_budget"] = over
    scope = (
        f"key {args.key_id}"
        if args.key_id
        else f"customer {args.custom_identifier}"
        if args.custom_identifier
        else "the account"
    )
    return Report(
        title=f"Month to date for {scope}, {usage.month_start:%Y-%m} (UTC)",
        rows=[row],
        caption=(
            f"${pricing.price_per_gb}/GB beyond {pricing.free_tier_gb} GB free per month"
            + (" -- OVER BUDGET" if over else "")
        ),
        exit_code=1 if over else 0,
    )


async def export_report(args: argparse.Namespace, turn: TurnUsage, now: datetime) -> Report:
    if args.format == "parquet" and not args.output:
        raise ConfigError("--format parquet needs --output FILE")
    span = _billing_period(args, now)
    pricing = pricing_of(args)
    if isinstance(turn, LedgerSource):
        return await _export_from_ledger(args, turn, now, span)
    query = Query(
        dimensions=("custom_identifier",),
        metrics=("egress_bytes", "ingress_bytes"),
        order_by=("-egress_bytes", "custom_identifier"),
    )
    rows = await run_query(args, turn, now, query, span)
    usage = [(row.custom_identifier, row.egress_bytes, row.ingress_bytes) for row in rows]
    if args.per_customer:
        usage = await _one_query_per_customer(args, turn, now, span, [u[0] for u in usage])
    records = [_record(span, *item, pricing) for item in usage]
    how = "one query per customer" if args.per_customer else "one grouped query"
    return Report(
        title=f"Usage per customer, {span.describe()}",
        rows=records,
        caption=f"{len(records)} customers ({how}); cost at ${pricing.price_per_gb}/GB list price",
        columns=EXPORT_COLUMNS,
    )


def _record(
    span: TimeRange, customer: str, egress: int, ingress: int, pricing: Pricing
) -> dict[str, object]:
    return {
        "period_start": span.since,
        "period_end": span.until,
        "custom_identifier": customer,
        "egress_bytes": egress,
        "ingress_bytes": ingress,
        "egress_gb": pricing.gigabytes(egress).quantize(GB_PLACES),
        "cost_usd": money(pricing.list_cost(egress)),
    }


async def _export_from_ledger(
    args: argparse.Namespace, source: LedgerSource, now: datetime, span: TimeRange
) -> Report:
    # The billing path: one row per customer per UTC month of the period, from settled buckets.
    pricing = pricing_of(args)
    where = condition_for(filters_from(args), getattr(args, "filter", None) or [], now)
    usage, notes = await source.ledger.monthly(span.since, span.until, pricing, where)
    source.note(notes)
    records = [
        _record(
            TimeRange(u.period_start, u.period_end),
            u.custom_identifier,
            u.egress_bytes,
            u.ingress_bytes,
            pricing,
        )
        for u in usage
    ]
    return Report(
        title=f"Usage per customer per month, {span.describe()}",
        rows=records,
        caption=f"{len(records)} customer-months; cost at ${pricing.price_per_gb}/GB list price",
        columns=EXPORT_COLUMNS,
    )


async def _one_query_per_customer(
    args: argparse.Namespace,
    turn: TurnUsage,
    now: datetime,
    span: TimeRange,
    customers: list[str],
) -> list[tuple[str, int, int]]:
    # Cloudflare samples adaptively and advises one customer per query for billing: each
    # customer's total is asked for on its own (the client's rate budget and concurrency cap
    # pace the requests), in the order of the grouped listing.
    totals = Query(metrics=("egress_bytes", "ingress_bytes"))

    async def one(customer: str) -> tuple[str, int, int]:
        where = F.custom_identifier == customer
        rows = await run_query(args, turn, now, replace(totals, where=where), span, progress=False)
        return (customer, rows[0].egress_bytes, rows[0].ingress_bytes) if rows else (customer, 0, 0)

    return list(await asyncio.gather(*(one(customer) for customer in customers)))


def _billing_period(args: argparse.Namespace, now: datetime) -> TimeRange:
    # Billing wants whole months: without a range option, the last complete UTC month.
    if any((args.since, args.until, args.month, args.today, args.this_month)):
        return time_range_of(args, now)
    this_month = month_start(now)
    return TimeRange(month_start(this_month - timedelta(days=1)), this_month)
