"""``Ledger``: the usage ledger as a Python API, for a cron job, a CLI or a long-lived service.

::

    async with TurnUsage() as turn, Ledger("postgresql://billing@db/turn") as ledger:
        result = await ledger.sync(turn)            # continue from the watermark
        answer = await ledger.query(Query(dimensions=["custom_identifier"]), since, until)
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from turnmeter.errors import ConfigError, StoreUnavailable
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

if TYPE_CHECKING:
    from turnmeter.fleet import Lease
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
        lease: Lease | None = None,
        on_lease: Callable[[str], None] | None = None,
    ) -> AsyncIterator[SyncResult]:
        """Sync every ``interval`` seconds, yielding each run's result, until cancelled.

        With ``lease`` (a :class:`~turnmeter.fleet.Lease`, e.g. from :func:`sync_lease`) only
        the replica holding it syncs; the others wait and take over when the holder stops
        renewing. The lease saves queries, it does not guard the data: a sync replaces whole
        windows in transactions, so two replicas syncing at once (a run longer than the lease,
        Redis unreachable: then every replica syncs) store what one would. ``on_lease`` hears
        each change: ``"holding"``, ``"standby"``, ``"redis unavailable: syncing anyway"``.
        """
        if not interval > 0:
            raise ConfigError(f"interval must be a positive number of seconds, got {interval!r}")
        state = ""
        try:
            while True:
                turn = "holding" if lease is None else await _lease_turn(lease)
                if turn != state and lease is not None and on_lease is not None:
                    on_lease(turn)
                state = turn
                if turn != "standby":
                    yield await self.sync(client, since=since, on_progress=on_progress)
                await asyncio.sleep(interval if lease is None else lease.next_attempt_in(interval))
        finally:
            if lease is not None:
                with contextlib.suppress(StoreUnavailable):
                    await lease.release()  # a clean stop hands over at once

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


async def _lease_turn(lease: Lease) -> str:
    # Redis down: sync anyway (safe, see follow()); a standby that stops syncing would leave
    # the ledger behind until Redis is back.
    try:
        return "holding" if await lease.hold() else "standby"
    except StoreUnavailable:
        return "redis unavailable: syncing anyway"


def sync_lease(
    redis_url: str, store_url: str, account_tag: str, ledger: Ledger, interval: float
) -> Lease:
    """The lease of one series in one store for one account, held ``3 x interval`` seconds.

    Its name holds no secret: the store URL is hashed without its password.
    """
    from turnmeter.fleet import Lease
    from turnmeter.ledger.urls import redacted
    from turnmeter.transport.redis_conn import RedisConnection
    from turnmeter.transport.redis_url import RedisURL

    store = hashlib.sha256(redacted(str(store_url)).encode()).hexdigest()[:16]
    series = f"{ledger.spec.grain}:{','.join(ledger.spec.dimensions)}"
    name = f"turnmeter:sync:{account_tag}:{series}:{store}"
    return Lease(RedisConnection(RedisURL.of(redis_url)), name, ttl=3 * interval)
