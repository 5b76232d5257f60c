"""What ``turnmeter bill`` fetches: TURN and SFU egress of one UTC month, and what they cost.

The free tier (1,000 GB by default) is the account's, shared by TURN and the SFU; the cost is
``max(0, GB - free tier) * price``. The billed egress lies between
:attr:`~turnmeter.pricing.RealtimeEgress.lower_bytes` and
:attr:`~turnmeter.pricing.RealtimeEgress.upper_bytes` (analytics cannot say which TURN bytes
went to or came from the SFU, which Cloudflare does not charge twice); the free tier left, the
budget left and the over-budget verdict use the upper bound, as the budget guard does.
"""

from __future__ import annotations

import argparse
from datetime import datetime

from turnmeter.budget import month_egress
from turnmeter.cli.billing import GB_PLACES
from turnmeter.cli.reports import money, pricing_of
from turnmeter.cli.runner import Report
from turnmeter.client import TurnUsage
from turnmeter.pricing import as_decimal, is_over_budget
from turnmeter.query.timerange import month_range, month_start

#: Columns of the bill, in order (budget columns only with --budget).
BILL_COLUMNS = (
    "month_start",
    "as_of",
    "turn_egress_bytes",
    "sfu_egress_bytes",
    "sfu_ingress_bytes",
    "billed_lower_bytes",
    "billed_upper_bytes",
    "billed_upper_gb",
    "free_tier_left_bytes",
    "cost_lower_usd",
    "cost_upper_usd",
)
CAVEAT = (
    "TURN traffic to and from the SFU is billed once, and analytics cannot tell which TURN "
    "bytes those were: the bill lies between the lower and the upper figure; the free tier "
    "left and the budget use the upper one"
)


async def bill_report(args: argparse.Namespace, turn: TurnUsage, now: datetime) -> Report:
    pricing = pricing_of(args)
    if args.month:
        span = month_range(args.month)
        start, end = span.since, min(span.until, now)
    else:
        start, end = month_start(now), now
    egress = await month_egress(turn, start, end) if end > start else None
    turn_bytes = egress.turn_egress_bytes if egress else 0
    sfu_bytes = egress.sfu_egress_bytes if egress else 0
    upper = egress.upper_bytes if egress else 0
    lower = egress.lower_bytes if egress else 0
    cost_upper = pricing.month_cost(upper)
    row: dict[str, object] = {
        "month_start": start,
        "as_of": end,
        "turn_egress_bytes": turn_bytes,
        "sfu_egress_bytes": sfu_bytes,
        "sfu_ingress_bytes": egress.sfu_ingress_bytes if egress else 0,
        "billed_lower_bytes": lower,
        "billed_upper_bytes": upper,
        "billed_upper_gb": pricing.gigabytes(upper).quantize(GB_PLACES),
        "free_tier_left_bytes": pricing.free_tier_left_bytes(upper),
        "cost_lower_usd": money(pricing.month_cost(lower)),
        "cost_upper_usd": money(cost_upper),
    }
    over = False
    columns: tuple[str, ...] = BILL_COLUMNS
    if args.budget is not None:
        budget = as_decimal(args.budget, "--budget")
        over = is_over_budget(cost_upper, budget)
        row.update(
            budget_usd=money(budget),
            budget_left_usd=money(budget - cost_upper),
            over_budget=over,
        )
        columns = (*BILL_COLUMNS, "budget_usd", "budget_left_usd", "over_budget")
    return Report(
        title=f"Realtime bill (TURN + SFU), {start:%Y-%m} (UTC)",
        rows=[row],
        caption=(
            f"${pricing.price_per_gb}/GB beyond {pricing.free_tier_gb} GB free per month, shared "
            f"by TURN and the SFU. {CAVEAT}" + (" -- OVER BUDGET" if over else "")
        ),
        columns=columns,
        exit_code=1 if over else 0,
    )
