"""The budget guard: month-to-date TURN egress, its cost, and "are we over budget?".

A signalling server asks this before minting every TURN credential, hundreds of times a minute.
:class:`BudgetGuard` answers from one number it refreshes in the background (at most one query per
``refresh_interval``), knows how old that number is, and has an explicit policy for the moment
it does not know (:class:`UnknownUsage`). :meth:`BudgetGuard.check` never waits for Cloudflare
longer than its ``decision_deadline``: without a number by then it answers from that policy
while the refresh goes on in the background::

    async with TurnUsage() as turn, BudgetGuard(turn, custom_identifier="acme") as guard:
        decision = await guard.check(budget_usd=250)
        if not decision.allowed:
            refuse(decision.reason)          # "over_budget" or "unknown"; decision.detail says why

With ``fleet=Fleet(url)`` many replicas share one poller per account and scope: a lease in
Redis says which replica queries, it publishes the number with its age, and the others read it
(:mod:`turnmeter.fleet`); while Redis is unreachable, ``Fleet.on_redis_down`` decides.

Cost is ``max(0, GB - free_tier_gb) * price_per_gb`` with GB = 10^9 bytes (Cloudflare's $0.05
per GB over 1,000 GB free, both configurable).

With ``include_sfu=True`` the guard counts the whole Realtime bill of the account: TURN and the
SFU share the free tier and the bill line. Each refresh then asks for TURN's and the SFU's
month-to-date totals (two requests, one per dataset), and the number it decides on is the
**upper bound** of the billed egress, TURN + SFU (:class:`~turnmeter.pricing.RealtimeEgress`):
analytics cannot tell which TURN bytes went to or came from the SFU (those are not charged
twice), and a budget switch must err on the side of stopping early rather than spending past
the budget. :class:`MonthToDate` carries the lower bound too.

Months are UTC calendar months: a number from last month is never reported as this month's;
after the 1st it counts as unknown until a refresh over the new month arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Literal, TypeVar

from turnmeter.errors import BudgetUnknown, ConfigError, StoreUnavailable, TurnmeterError
from turnmeter.fleet.config import Fleet
from turnmeter.lifecycle import AsyncLifecycle
from turnmeter.pricing import (
    DEFAULT_FREE_TIER_GB,
    DEFAULT_PRICE_PER_GB,
    Amount,
    Pricing,
    RealtimeEgress,
    as_decimal,
    is_over_budget,
)
from turnmeter.query.timerange import month_start, next_month
from turnmeter.transport.observability import budget_logger

if TYPE_CHECKING:
    from turnmeter.client import TurnUsage
    from turnmeter.fleet.shared import GuardLink

#: Seconds between refreshes (and the fewest seconds between two queries).
DEFAULT_REFRESH_INTERVAL = 60.0
#: A number older than this (seconds) counts as unknown.
DEFAULT_MAX_STALENESS = 600.0
#: The longest (seconds) check() waits for a number it does not have. It sits on a signalling
#: server's credential path, which must not stall for a hung analytics API (a request timeout is
#: a minute); a healthy month-to-date query answers in well under this, so a cold guard still
#: usually answers from a real number.
DEFAULT_DECISION_DEADLINE = 0.25

_F = TypeVar("_F", bound=Callable[..., object])


class UnknownUsage(enum.Enum):
    """What :meth:`BudgetGuard.check` answers when usage is unknown (no fresh number)."""

    FAIL_OPEN = "fail_open"  # allow: an outage of the analytics API must not stop calls
    FAIL_CLOSED = "fail_closed"  # deny: never risk spending past the budget


@dataclass(frozen=True, slots=True)
class MonthToDate:
    """Egress from the start of the UTC month until ``as_of``, its cost, and its age.

    With the SFU counted, ``egress_bytes`` (and the cost) is the upper bound TURN + SFU, and
    the ``sfu_*`` and ``lower_*`` fields say what the SFU added and what the bill is at least;
    without it they are None.
    """

    month_start: datetime
    as_of: datetime
    egress_bytes: int
    gigabytes: Decimal
    cost_usd: Decimal
    age: float
    turn_egress_bytes: int | None = None
    sfu_egress_bytes: int | None = None
    sfu_ingress_bytes: int | None = None
    lower_egress_bytes: int | None = None
    lower_cost_usd: Decimal | None = None


@dataclass(frozen=True, slots=True)
class BudgetDecision:
    """The guard's answer: ``allowed``, why, and the number behind it (None when unknown).

    ``detail`` says why in words: which side of the budget the cost is on, or why the usage is
    unknown (no number within the decision deadline, the last refresh failed, too old).
    """

    allowed: bool
    reason: Literal["under_budget", "over_budget", "unknown"]
    budget_usd: Decimal
    usage: MonthToDate | None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class _Reading:
    month_start: datetime
    as_of: datetime
    egress_bytes: int
    taken: float  # monotonic time the query started
    # Worked out once per refresh, not per check: a check sits on every credential mint, and
    # Decimal division and month arithmetic were most of its cost (bench/bench_credentials.py).
    month_end: datetime
    gigabytes: Decimal
    cost_usd: Decimal
    realtime: RealtimeEgress | None = None  # TURN and SFU, when the SFU is counted


class BudgetGuard(AsyncLifecycle):
    """Month-to-date egress for the account, one TURN key, or one custom identifier.

    ``clock`` gives "now" (UTC) for the month and the query range; ``monotonic`` measures ages
    and intervals. Use as an async context manager to run the background refresh; without it,
    checks refresh on demand (still at most once per ``refresh_interval``); either way, leaving
    it (or :meth:`stop`) cancels a refresh still in flight. :meth:`check` waits at most
    ``decision_deadline`` seconds for a number; :meth:`usage` and :meth:`refresh` wait for it.
    """

    def __init__(
        self,
        turn: TurnUsage,
        *,
        key_id: str | None = None,
        custom_identifier: str | None = None,
        include_sfu: bool = False,
        price_per_gb: Amount = DEFAULT_PRICE_PER_GB,
        free_tier_gb: Amount = DEFAULT_FREE_TIER_GB,
        refresh_interval: float = DEFAULT_REFRESH_INTERVAL,
        max_staleness: float = DEFAULT_MAX_STALENESS,
        on_unknown: UnknownUsage = UnknownUsage.FAIL_CLOSED,
        decision_deadline: float = DEFAULT_DECISION_DEADLINE,
        clock: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        fleet: Fleet | None = None,
    ) -> None:
        if key_id is not None and custom_identifier is not None:
            raise ConfigError("guard one scope: a key_id or a custom_identifier, not both")
        if not isinstance(include_sfu, bool):
            raise ConfigError(f"include_sfu must be True or False, got {include_sfu!r}")
        if include_sfu and (key_id is not None or custom_identifier is not None):
            raise ConfigError(
                "include_sfu guards the account's whole Realtime bill (the free tier is the "
                "account's); the SFU has no TURN keys or custom identifiers to scope it to"
            )
        self.include_sfu = include_sfu
        self._turn = turn
        self._filters = {
            "key_id": _scope(key_id, "key_id"),
            "custom_identifier": _scope(custom_identifier, "custom_identifier"),
        }
        self.pricing = Pricing.of(price_per_gb, free_tier_gb)
        self.refresh_interval = _seconds(refresh_interval, "refresh_interval")
        self.max_staleness = _seconds(max_staleness, "max_staleness")
        self.decision_deadline = _seconds(decision_deadline, "decision_deadline")
        if not isinstance(on_unknown, UnknownUsage):
            raise ConfigError(f"on_unknown must be an UnknownUsage, got {on_unknown!r}")
        self.on_unknown = on_unknown
        self._clock = _callable(clock, "clock") or (lambda: datetime.now(UTC))
        self._monotonic = _callable(monotonic, "monotonic") or time.monotonic
        self._reading: _Reading | None = None
        self._last_attempt: float | None = None
        self._refreshing: asyncio.Task[None] | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self.queries = 0  # refresh queries sent, for metrics and tests
        self.last_error: str | None = None
        self._link = self._join(fleet)

    def __repr__(self) -> str:
        scope = {k: v for k, v in self._filters.items() if v is not None} or "account"
        fleet = "" if self._link is None else f", fleet={self._link.redis.url.shown!r}"
        return f"BudgetGuard(scope={scope!r}, refresh_interval={self.refresh_interval:g}{fleet})"

    @property
    def fleet_down(self) -> str | None:
        """Why Redis is unreachable for the fleet (None while it answers, or without a fleet)."""
        return None if self._link is None else self._link.down

    @property
    def holds_lease(self) -> bool:
        """True while this replica is its fleet's poller (always False without a fleet)."""
        return self._link is not None and self._link.lease.held

    def _join(self, fleet: Fleet | None) -> GuardLink | None:
        if fleet is None:
            return None
        if not isinstance(fleet, Fleet):
            raise ConfigError(f"fleet must be a Fleet, got {type(fleet).__name__}")
        from turnmeter.fleet.shared import GuardLink

        scope = ",".join(f"{k}={v}" for k, v in self._filters.items() if v is not None)
        return GuardLink(
            fleet,
            account=self._turn.settings.account_tag,
            scope=scope or "account",
            refresh_interval=self.refresh_interval,
        )

    async def _enter(self) -> None:
        self.start()

    async def _exit(self, exc: BaseException | None) -> None:
        await self.stop()

    def start(self) -> None:
        """Start refreshing in the background every ``refresh_interval``."""
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = asyncio.create_task(self._refresh_loop())

    async def stop(self) -> None:
        """Stop the background refresh (and any refresh in flight)."""
        for task in (self._loop_task, self._refreshing):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._loop_task = self._refreshing = None
        if self._link is not None:
            # Released, so another replica takes over at once rather than at the lease's end.
            with contextlib.suppress(StoreUnavailable):
                await self._link.aclose()

    async def usage(self) -> MonthToDate:
        """This month's usage so far; :class:`BudgetUnknown` when no fresh number exists."""
        reading = await self._current()
        if reading is None:
            detail = f" (last refresh failed: {self.last_error})" if self.last_error else ""
            raise BudgetUnknown(f"no month-to-date usage fresh enough to vouch for{detail}")
        return self._month_to_date(reading)

    async def check(self, budget_usd: Amount) -> BudgetDecision:
        """Allowed while the month's cost is below ``budget_usd``; unknown follows the policy.

        Over budget once the cost has reached the budget (:func:`~turnmeter.pricing.
        is_over_budget`, the rule ``turnmeter budget`` follows too). Answers within
        ``decision_deadline`` seconds: without a usable number by then, the usage is unknown
        for this decision while the refresh goes on in the background for later ones.
        """
        budget = as_decimal(budget_usd, "budget_usd")
        reading = await self._current(self.decision_deadline)
        if reading is None:
            allowed = self.on_unknown is UnknownUsage.FAIL_OPEN
            return BudgetDecision(allowed, "unknown", budget, None, self._unknown_because())
        usage = self._month_to_date(reading)
        if is_over_budget(usage.cost_usd, budget):
            detail = f"month-to-date cost {usage.cost_usd} has reached the budget {budget}"
            return BudgetDecision(False, "over_budget", budget, usage, detail)
        detail = f"month-to-date cost {usage.cost_usd} is below the budget {budget}"
        return BudgetDecision(True, "under_budget", budget, usage, detail)

    async def over_budget(self, budget_usd: Amount) -> bool:
        """True when calls should stop: over budget, or unknown under ``FAIL_CLOSED``."""
        return not (await self.check(budget_usd)).allowed

    async def refresh(self) -> MonthToDate:
        """Query now (joining a refresh already in flight) and return the new number."""
        await self._start_refresh()
        return await self.usage()

    async def settled(self) -> None:
        """Wait for the refresh in flight, if any (checks never wait for a background one)."""
        await self._join_refresh()

    def cost_of(self, egress_bytes: int) -> Decimal:
        """The price of ``egress_bytes`` in one month, after the free tier."""
        return self.pricing.month_cost(egress_bytes)

    async def _current(self, deadline: float | None = None) -> _Reading | None:
        """The usable reading, refreshing first (up to ``deadline`` s) when there is none."""
        reading = self._usable()
        if reading is not None:
            if self._monotonic() - reading.taken >= self.refresh_interval:
                self._maybe_start_refresh()  # stale-while-revalidate: answer now
            return reading
        self._maybe_start_refresh()
        await self._join_refresh(deadline)
        return self._usable()

    def _unknown_because(self) -> str:
        if self._refreshing is not None:
            return (
                f"no month-to-date number within the {self.decision_deadline:g} s decision "
                "deadline; a refresh is still in flight"
            )
        if self.last_error is not None:
            return f"the last refresh failed ({self.last_error.partition(':')[0]})"
        return "no month-to-date number fresh enough (older than max_staleness, or last month's)"

    def _usable(self) -> _Reading | None:
        reading = self._reading
        if reading is None:
            return None
        now = self._clock()
        if now.tzinfo is None:
            now = now.astimezone(UTC)  # as month_start() reads a naive time
        if not reading.month_start <= now < reading.month_end:
            return None  # last month's number is not this month's
        if self._monotonic() - reading.taken > self.max_staleness:
            return None
        return reading

    def _maybe_start_refresh(self) -> bool:
        if self._refreshing is not None:
            return False
        new_month = self._reading is not None and self._reading.month_start != month_start(
            self._clock()
        )
        recently = (
            self._last_attempt is not None
            and self._monotonic() - self._last_attempt < self.refresh_interval
        )
        if recently and not new_month:
            return False
        self._refreshing = asyncio.create_task(self._refresh_once())
        self._refreshing.add_done_callback(self._refresh_done)
        return True

    async def _start_refresh(self) -> None:
        if self._refreshing is None:
            self._refreshing = asyncio.create_task(self._refresh_once())
            self._refreshing.add_done_callback(self._refresh_done)
        await self._join_refresh()

    async def _join_refresh(self, within: float | None = None) -> None:
        task = self._refreshing
        if task is not None:
            # asyncio.wait, not the task itself: neither the timeout nor a cancelled caller may
            # cancel the refresh others wait for, and its outcome is read in _refresh_done.
            await asyncio.wait((task,), timeout=within)

    def _refresh_done(self, task: asyncio.Task[None]) -> None:
        if self._refreshing is task:
            self._refreshing = None
        if task.cancelled():
            return
        exc = task.exception()  # retrieved here, so asyncio never reports it as unhandled
        if exc is not None:
            # Not a TurnmeterError (those are kept in _refresh_once): a bug or a broken clock.
            # Only its type is kept and logged: a foreign message is not ours to vouch for, and
            # could quote a secret.
            self.last_error = f"{type(exc).__name__}: unexpected error in the budget refresh"
            budget_logger.error("budget refresh crashed: %s", type(exc).__name__)

    async def _refresh_once(self) -> None:
        self._last_attempt = self._monotonic()
        if self._link is not None and not await self._fleet_turn(self._link):
            return  # another replica polls: its number was adopted (or none is known yet)
        taken = self._monotonic()
        now = self._clock().astimezone(UTC)
        start = month_start(now)
        self.queries += 1
        try:
            egress, realtime = 0, None
            if now > start and self.include_sfu:
                realtime = await month_egress(self._turn, start, now)
                egress = realtime.upper_bytes
            elif now > start:
                filters = {k: v for k, v in self._filters.items() if v is not None}
                totals = await self._turn.total(start, now, **filters)
                egress = totals.egress_bytes
            elif self.include_sfu:
                realtime = RealtimeEgress(0, 0, 0)
        except TurnmeterError as exc:
            # Keep the old number (it ages towards unknown); say why in decisions and logs.
            self.last_error = f"{type(exc).__name__}: {exc}"
            budget_logger.warning("budget refresh failed: %s", type(exc).__name__)
            return
        self.last_error = None
        self._reading = self._reading_of(start, now, egress, taken, realtime)
        budget_logger.debug("month-to-date egress %d bytes as of %s", egress, now.isoformat())
        if self._link is not None:
            await self._link.publish(
                start, now, egress, self._monotonic() - taken, self.max_staleness
            )

    def _reading_of(
        self,
        start: datetime,
        now: datetime,
        egress: int,
        taken: float,
        realtime: RealtimeEgress | None = None,
    ) -> _Reading:
        gigabytes, cost = self.pricing.gigabytes(egress), self.cost_of(egress)
        return _Reading(start, now, egress, taken, next_month(start), gigabytes, cost, realtime)

    async def _fleet_turn(self, link: GuardLink) -> bool:
        """True when this replica should query (see :meth:`GuardLink.turn`)."""
        turn = await link.turn(month_start(self._clock()), self.refresh_interval, self._monotonic)
        if turn.error is not None:
            self.last_error = turn.error
        shared = turn.shared
        if shared is not None and (self._reading is None or shared.as_of >= self._reading.as_of):
            taken = self._monotonic() - shared.age
            # The fleet shares the account's number, not its TURN/SFU breakdown.
            self._reading = self._reading_of(
                shared.month_start, shared.as_of, shared.egress_bytes, taken
            )
            self.last_error = None
        return turn.query

    async def _refresh_loop(self) -> None:
        while True:
            if self._link is not None and self._refreshing is None and not self.holds_lease:
                # A follower looks at the lease on its own schedule (below), not only once per
                # interval: a crashed holder's lease is taken the moment it expires. Cheap: a
                # follower's look is a Redis round trip, never a query.
                await self._start_refresh()
            else:
                self._maybe_start_refresh()
            if self._refreshing is not None:
                await self._join_refresh()
            if self._link is not None:
                await asyncio.sleep(self._link.lease.next_attempt_in(self.refresh_interval))
                continue
            since = self._monotonic() - (self._last_attempt or self._monotonic())
            await asyncio.sleep(max(self.refresh_interval - since, 0.0) or self.refresh_interval)

    def _month_to_date(self, reading: _Reading) -> MonthToDate:
        realtime = reading.realtime
        return MonthToDate(
            month_start=reading.month_start,
            as_of=reading.as_of,
            egress_bytes=reading.egress_bytes,
            gigabytes=reading.gigabytes,
            cost_usd=reading.cost_usd,
            age=self._monotonic() - reading.taken,
            turn_egress_bytes=None if realtime is None else realtime.turn_egress_bytes,
            sfu_egress_bytes=None if realtime is None else realtime.sfu_egress_bytes,
            sfu_ingress_bytes=None if realtime is None else realtime.sfu_ingress_bytes,
            lower_egress_bytes=None if realtime is None else realtime.lower_bytes,
            lower_cost_usd=None if realtime is None else self.cost_of(realtime.lower_bytes),
        )


def _seconds(value: object, name: str) -> float:
    """``value`` as finite positive seconds, or a ConfigError naming ``name``."""
    seconds = math.nan
    if isinstance(value, int | float) and not isinstance(value, bool):
        with contextlib.suppress(OverflowError):  # an int too large for a float
            seconds = float(value)
    if not (math.isfinite(seconds) and seconds > 0):
        raise ConfigError(f"{name} must be a finite, positive number of seconds, got {value!r}")
    return seconds


def _scope(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{name} must be a non-empty string or None, got {value!r}")
    return value


def _callable(value: _F | None, name: str) -> _F | None:
    if value is not None and not callable(value):
        raise ConfigError(f"{name} must be callable, got {value!r}")
    return value


async def month_egress(turn: TurnUsage, since: datetime, until: datetime) -> RealtimeEgress:
    """TURN's and the SFU's egress (and the SFU's ingress) over ``[since, until)``: two
    requests, one per dataset, side by side over ``turn``'s transport."""
    from turnmeter.sfu import SfuUsage

    turn_total, sfu_total = await asyncio.gather(
        turn.total(since, until), SfuUsage(turn).total(since, until)
    )
    return RealtimeEgress(turn_total.egress_bytes, sfu_total.egress_bytes, sfu_total.ingress_bytes)
