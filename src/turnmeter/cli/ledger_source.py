"""``--ledger STORE``: the usage commands answered from the ledger instead of Cloudflare.

:class:`LedgerSource` stands in for the client where the report functions use one: ``query``
(every ranking, breakdown, total, series) and ``total`` (the budget). What the ledger cannot
vouch for (a range not covered, buckets not settled, edges rounded to whole buckets) is
collected in ``notes``; the runner puts it under the report and on stderr.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

from turnmeter.ledger import Ledger
from turnmeter.query import F, Query, QueryRow
from turnmeter.query.conditions import Condition
from turnmeter.rows import UsageTotals


class LedgerSource:
    """Answers the report functions' questions from a ledger, noting its caveats."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.notes: list[str] = []

    def note(self, lines: list[str]) -> None:
        """Add caveats (each once)."""
        self.notes += [line for line in lines if line not in self.notes]

    async def query(
        self, query: Query, since: datetime, until: datetime, **_: Any
    ) -> list[QueryRow]:
        """As :meth:`TurnUsage.query` (progress and clock arguments are not needed)."""
        if query.has_avg:
            # Averages do not add across buckets or groups: the ledger keeps sums only, and the
            # answer goes without the average columns rather than with made-up ones.
            sums = tuple(m.name for m in query.metric_specs if m.block != "avg")
            query = replace(query, metrics=sums)
            self.note(["average connections are not kept in the ledger (sums only)"])
        result = await self.ledger.query(query, since, until)
        self.note(result.notes())
        return result.rows

    async def total(self, since: datetime, until: datetime, **filters: str) -> UsageTotals:
        """As :meth:`TurnUsage.total` for the filters ``BudgetGuard`` passes."""
        where: Condition | None = None
        for name, value in filters.items():
            condition = getattr(F, name) == value
            where = condition if where is None else where & condition
        query = Query(metrics=("egress_bytes", "ingress_bytes"), where=where)
        rows = await self.query(query, since, until)
        if not rows:
            return UsageTotals(0, 0)
        return UsageTotals(rows[0].egress_bytes, rows[0].ingress_bytes)


@asynccontextmanager
async def ledger_source(args: argparse.Namespace) -> AsyncIterator[LedgerSource]:
    """The ledger ``--ledger`` names, opened (and migrated) for the command."""
    async with Ledger(args.ledger) as ledger:
        yield LedgerSource(ledger)
