"""``Ledger``: the usage ledger as a Python API, for a cron job, a CLI or a long-lived service.

::

    async with TurnUsage() as turn, Ledger("postgresql://billing@db/turn") as ledger:
        result = await ledger.sync(turn)            # continue from the watermark
        answer = await ledger.query(Query(dimensions=["custom_identifier"]), since, until)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from turnmeter.errors import ConfigError
from turnmeter.ledger.billing import MonthlyUsage, monthly_usage
from turnmeter.ledger.coverage import CoverageReport, report
from turnmeter.ledger.model import (
    DEFAULT_DIMENSIONS,
    DEFAULT_GRAIN,
    DEFAULT_SETTLE,
    BucketRow,
    SeriesSpec,
    canonical_dimensions,
)
from turnmeter.ledger.reads import LedgerAnswer, answer
from turnmeter.ledger.store import LedgerStore
from turnmeter.ledger.sync import ProgressHook, SyncClient, SyncResult, sync_series
from turnmeter.ledger.urls import open_store
from turnmeter.lifecycle import AsyncLifecycle
from turnmeter.pricing import Pricing
from turnmeter.query.conditions import Condition
from turnmeter.query.model import Query

Clock = Callable[[], datetime]


class Ledger(AsyncLifecycle):
    """A usage ledger in ``store`` (a URL, a path, or a :class:`LedgerStore`).

    ``grain`` and ``dimensions`` choose the series :meth:`sync` fills; ``settle`` is how long
    after a bucket ends its numbers are final; ``clock`` replaces the UTC wall clock (tests,
    fixed sandboxes). Use as ``async with Ledger(...) as ledger:`` (opens and migrates).
    """

    def __init__(
        self,
        store: str | Path | LedgerStore,
        *,
        grain: str = DEFAULT_GRAIN,
        dimensions: tuple[str, ...] | list[str] | str = DEFAULT_DIMENSIONS,
        settle: timedelta = DEFAULT_SETTLE,
        clock: Clock | None = None,
    ) -> None:
        self.store = store if isinstance(store, LedgerStore) else open_store(store)
        self.spec = SeriesSpec(grain, canonical_dimensions(dimensions))
        if not isinstance(settle, timedelta) or settle < timedelta(0):
            raise ConfigError(f"settle must be a non-negative timedelta, got {settle!r}")
        self.settle = settle
        self._clock = clock or (lambda: datetime.now(UTC))

    def __repr__(self) -> str:
        return f"Ledger({self.store.display!r}, {self.spec.label})"

    async def _enter(self) -> None:
        await self.store.open()

    async def _exit(self, exc: BaseException | None) -> None:
        await self.store.close()

    async def sync(
        self,
        client: SyncClient,
        *,
        since: datetime | None = None,
        on_progress: ProgressHook | None = None,
    ) -> SyncResult:
        """One run: continue from the watermark, refetch the unsettled tail, fill gaps."""
        return await sync_series(
            client,
            self.store,
            self.spec,
            now=self._clock(),
            settle=self.settle,
            since=since,
            on_progress=on_progress,
        )

    async def follow(
        self,
        client: SyncClient,
        *,
        interval: float,
        since: datetime | None = None,
        on_progress: ProgressHook | None = None,
    ) -> AsyncIterator[SyncResult]:
        """Sync every ``interval`` seconds, yielding each run's result, until cancelled."""
        if not interval > 0:
            raise ConfigError(f"interval must be a positive number of seconds, got {interval!r}")
        while True:
            yield await self.sync(client, since=since, on_progress=on_progress)
            await asyncio.sleep(interval)

    async def status(self) -> list[CoverageReport]:
        """Coverage of every series in the store."""
        return [report(s, await self.store.coverage(s.id)) for s in await self.store.all_series()]

    async def query(self, query: Query, since: datetime, until: datetime) -> LedgerAnswer:
        """``query`` answered from the ledger, with what it covers and what is unsettled."""
        return await answer(self.store, query, since, until)

    async def monthly(
        self,
        since: datetime,
        until: datetime,
        pricing: Pricing | None = None,
        where: Condition | None = None,
    ) -> tuple[list[MonthlyUsage], list[str]]:
        """Billing: per customer per UTC month, with cost at ``pricing``; and caveats."""
        return await monthly_usage(self.store, since, until, pricing or Pricing.of(), where)

    async def rows(self) -> list[BucketRow]:
        """Every bucket row of this ledger's series, in key order."""
        for series in await self.store.all_series():
            if series.spec == self.spec:
                return await self.store.rows(series.id)
        return []
