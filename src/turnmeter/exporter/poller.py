"""The exporter's own schedule: settled, minute-aligned, non-overlapping windows.

Each poll asks for ``[watermark, now - settle delay)`` rounded down to the minute, one segment
per UTC month, commits each segment to the state file with its new watermark, and only then
updates the numbers a scrape reads. A scrape never causes a query. When a poll fails, nothing of
the failed segment is counted, every metric keeps its value, and the next poll asks again from
the same watermark (so minutes are neither skipped by a late timer nor counted twice).

:meth:`Poller.poll_account` is the one place that reads, fetches and writes an account: a lease
(one poller per account across a fleet) wraps that call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from turnmeter import errors
from turnmeter.client import TurnUsage
from turnmeter.exporter.fetch import SegmentFetcher
from turnmeter.exporter.ledger import Ledger, Plan
from turnmeter.exporter.settings import ExporterSettings
from turnmeter.exporter.state import StateConflict, StateStore, StateWriteFailed
from turnmeter.query.timerange import month_start

log = logging.getLogger("turnmeter.exporter")

Clock = Callable[[], datetime]

#: Seconds a cancelled poll waits for its state write to finish (SQLite's own busy timeout).
STATE_WRITE_GRACE = 6.0

#: Error families for ``turnmeter_exporter_errors_total{family=...}``, most specific first.
ERROR_FAMILIES: tuple[tuple[str, type[BaseException]], ...] = (
    ("rate_limited", errors.RateLimited),
    ("auth", errors.AuthError),
    ("overloaded", errors.Overloaded),
    ("limit", errors.LimitExceeded),
    ("invalid_query", errors.InvalidQuery),
    ("server", errors.ServerError),
    ("http_status", errors.HTTPStatusError),
    ("malformed", errors.MalformedResponse),
    ("timeout", errors.RequestTimeout),
    ("transport", errors.TransportError),
    ("state", StateConflict),
    ("state", StateWriteFailed),
    ("config", errors.ConfigError),
    ("query", errors.QueryError),
    ("turnmeter", errors.TurnmeterError),
)
FAMILY_NAMES: tuple[str, ...] = (*dict.fromkeys(name for name, _ in ERROR_FAMILIES), "other")


def error_family(exc: BaseException) -> str:
    """The family label of a failed poll's exception."""
    for name, family in ERROR_FAMILIES:
        if isinstance(exc, family):
            return name
    return "other"


def utc_clock() -> datetime:
    return datetime.now(UTC)


def floor_minute(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(second=0, microsecond=0)


def next_month(moment: datetime) -> datetime:
    start = month_start(moment)
    return (start + timedelta(days=32)).replace(day=1)


@dataclass(slots=True)
class PollStats:
    """How the polls went (self-metrics and ``/healthz``)."""

    polls_ok: int = 0
    polls_failed: int = 0
    consecutive_failures: int = 0
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FAMILY_NAMES, 0))
    last_success: float | None = None  # wall-clock seconds
    last_duration: float | None = None
    last_error: str | None = None


class Poller:
    """Keeps one account's ledger up to date from Cloudflare, on its own schedule."""

    def __init__(
        self,
        turn: TurnUsage,
        settings: ExporterSettings,
        *,
        clock: Clock | None = None,
        store: StateStore | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or utc_clock
        self.store = store or StateStore(settings.state_path)
        self.fetcher = SegmentFetcher(turn, settings.labels, self.clock)
        self.stats = PollStats()
        saved = self.store.load(settings.labels)
        # Never written: start at the month's first minute, so the first polls backfill the
        # counters to month-to-date usage.
        self._written = saved is not None
        self.ledger = Ledger(
            labels=settings.labels,
            top_customers=settings.top_customers,
            watermark=saved.watermark if saved else month_start(self.clock()),
            month=saved.month if saved else None,
            counters=saved.counters if saved else None,
            month_usage=saved.month_usage if saved else None,
        )
        self._lock = asyncio.Lock()
        #: Awaited after every poll that moved the watermark (the exposition re-renders).
        self.on_change: list[Callable[[], Awaitable[None]]] = []

    @property
    def healthy(self) -> bool:
        """False once ``degraded_after`` polls in a row have failed."""
        return self.stats.consecutive_failures < self.settings.degraded_after

    def settled_until(self) -> datetime:
        """The end of the settled range now: ``now - settle delay``, down to the minute."""
        return floor_minute(self.clock() - timedelta(seconds=self.settings.settle))

    async def poll(self) -> bool:
        """One poll: count every settled minute not yet counted. True if it succeeded."""
        started = time.monotonic()
        before = self.ledger.watermark
        try:
            async with self._lock:
                await self.poll_account()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._failed(exc)
            return False
        finally:
            self.stats.last_duration = time.monotonic() - started
            # Segments before a failure were committed: they are shown too.
            if self.ledger.watermark != before:
                for hook in self.on_change:
                    await hook()
        self.stats.polls_ok += 1
        self.stats.consecutive_failures = 0
        self.stats.last_success = time.time()
        self.stats.last_error = None
        return True

    async def poll_account(self) -> None:
        """Fetch, write and apply every settled segment after the watermark, oldest first."""
        until = self.settled_until()
        while self.ledger.watermark < until:
            start = self.ledger.watermark
            end = min(until, next_month(start))
            segment = await self.fetcher.fetch(start, end)
            await self._commit(self.ledger.plan(segment), start)

    async def _commit(self, plan: Plan, start: datetime) -> None:
        # The write runs in a thread; a cancelled poll cannot stop a transaction already going,
        # so memory follows the file either way (else the next write would see a "conflict").
        expected = start if self._written else None
        write = asyncio.ensure_future(
            asyncio.to_thread(self.store.commit, plan, expected, self.settings.labels)
        )
        try:
            await asyncio.shield(write)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(write), STATE_WRITE_GRACE)
            if write.done() and not write.cancelled() and write.exception() is None:
                self._written = True
                self.ledger.apply(plan)
            raise
        self._written = True
        self.ledger.apply(plan)

    def _failed(self, exc: Exception) -> None:
        family = error_family(exc)
        self.stats.polls_failed += 1
        self.stats.consecutive_failures += 1
        self.stats.errors[family] = self.stats.errors.get(family, 0) + 1
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
        log.warning(
            "poll failed (%s, %d in a row): %s",
            family,
            self.stats.consecutive_failures,
            self.stats.last_error,
            exc_info=family == "other",
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Poll now, then at every multiple of ``poll_interval`` (wall clock), until ``stop``."""
        interval = self.settings.poll_interval
        while not stop.is_set():
            await self.poll()
            # Aligned to the interval's multiples (minute boundaries by default), a little
            # after them: a late or drifting timer never skips a minute (the window starts at
            # the watermark), it only makes the next window longer.
            offset = min(1.0, interval / 4)
            delay = interval - (time.time() % interval) + offset
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

    def close(self) -> None:
        self.store.close()
