"""The billing path: usage per customer per calendar month (UTC), with cost, from the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from turnmeter.ledger.reads import answer
from turnmeter.ledger.store import LedgerStore
from turnmeter.pricing import Pricing
from turnmeter.query.conditions import Condition
from turnmeter.query.filters import time_range
from turnmeter.query.model import Query
from turnmeter.query.timerange import month_start


@dataclass(frozen=True, slots=True)
class MonthlyUsage:
    """One customer's usage in one month (or the part of it inside the asked range)."""

    period_start: datetime
    period_end: datetime
    custom_identifier: str
    egress_bytes: int
    ingress_bytes: int
    cost_usd: Decimal


def months(since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    """``[since, until)`` cut at UTC month boundaries."""
    pieces = []
    cursor = since.astimezone(UTC)
    end = until.astimezone(UTC)
    while cursor < end:
        following = month_start(month_start(cursor) + timedelta(days=32))
        pieces.append((cursor, min(following, end)))
        cursor = following
    return pieces


async def monthly_usage(
    store: LedgerStore,
    since: datetime,
    until: datetime,
    pricing: Pricing,
    where: Condition | None = None,
) -> tuple[list[MonthlyUsage], list[str]]:
    """Per customer per month, heaviest first within each month; and the ledger's caveats."""
    since, until = time_range(since, until)
    query = Query(
        dimensions=("custom_identifier",),
        metrics=("egress_bytes", "ingress_bytes"),
        where=where,
        order_by=("-egress_bytes", "custom_identifier"),
    )
    records: list[MonthlyUsage] = []
    notes: list[str] = []
    for start, end in months(since, until):
        result = await answer(store, query, start, end)
        notes += [note for note in result.notes() if note not in notes]
        records += [
            MonthlyUsage(
                start,
                end,
                row.custom_identifier,
                row.egress_bytes,
                row.ingress_bytes,
                pricing.list_cost(row.egress_bytes),
            )
            for row in result.rows
        ]
    return records, notes
