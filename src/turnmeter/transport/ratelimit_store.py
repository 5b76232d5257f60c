"""The rate budget's window arithmetic, its in-process store, and the refusals it raises.

A store answers one question per request: may ``cost`` go out now, or how long until it may
(and is that wait the budget being spent, or a pause the server asked for)? Every pause a store
records is bounded by the budget's ``pause_bound``: a server that says "wait a billion seconds"
(or ``inf``, or the year 9999) must not stop the client for good.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

from turnmeter.errors import GraphQLErrorDetail, RateLimited

if TYPE_CHECKING:
    from turnmeter.transport.ratelimit import RateBudget

#: ``extensions.code`` of the limiter's own refusal (nothing was sent).
CLIENT_BUDGET_CODE = "client_budget"
#: ``extensions.reason`` of each kind of refusal, for callers that tell them apart.
REASON_SPENT = "budget_spent"
REASON_PAUSE = "server_pause"
REASON_LOCKED = "budget_file_locked"
#: The shortest wait a store reports, so that a caller never spins on a zero-second sleep.
MIN_WAIT = 1e-3


class Verdict(NamedTuple):
    """A store's answer: ``wait`` 0.0 means granted; ``paused_until`` is set for a pause.

    ``grant`` names the recorded grant in a store that re-stamps it once the request has gone
    (Redis); None elsewhere.
    """

    wait: float
    paused_until: float | None = None
    grant: str | None = None


#: The verdict of every grant a store counts from the moment it is given.
GRANTED = Verdict(0.0)


class Store(Protocol):
    def decide(self, cost: int, now: float | None = None) -> Verdict:
        """Record ``cost`` (at ``now``, by default the store's clock) or say how long to wait."""
        ...

    def pause_for(self, seconds: float) -> None: ...

    def clear_pause(self) -> None: ...

    def used(self, now: float | None = None) -> int: ...


def bound_pause(seconds: float, bound: float) -> float:
    """``seconds`` as a pause the budget may record: within [0, bound]; unreadable -> bound."""
    if math.isnan(seconds):
        return bound  # the server asked for a wait it could not say: the longest we allow
    return min(max(seconds, 0.0), bound)


def wait_for(
    entries: Iterable[tuple[float, int]], used: int, cost: int, limit: int, span: float, now: float
) -> float:
    """Oldest first: how long until enough old costs leave a window of ``span`` for ``cost``."""
    for at, spent in entries:
        used -= spent
        if used + cost <= limit:
            return max(at + span - now, 0.0) or MIN_WAIT
    return span  # unreachable while cost <= limit; a safe answer anyway


class MemoryStore:
    """The window in this process (asyncio is single-threaded: no lock needed).

    The window is half-open: a grant at ``t`` counts until ``t + window`` and is gone at that
    instant. No safety margin here: the grant is read from the same monotonic clock, on the event
    loop, in the very step that goes on to write the request.
    """

    def __init__(self, budget: RateBudget, clock: Callable[[], float] = time.monotonic) -> None:
        assert budget.limit is not None
        self._limit = budget.limit
        self._window = budget.window
        self._bound = budget.pause_bound
        self._clock = clock
        self._log: deque[tuple[float, int]] = deque()
        self._used = 0
        self._paused_until = 0.0

    def _expire(self, now: float) -> None:
        horizon = now - self._window
        while self._log and self._log[0][0] <= horizon:
            self._used -= self._log.popleft()[1]

    def decide(self, cost: int, now: float | None = None) -> Verdict:
        now = self._clock() if now is None else now
        if self._take(cost, now):
            return GRANTED
        if now < self._paused_until:
            return Verdict(self._paused_until - now, self._paused_until)
        return Verdict(wait_for(self._log, self._used, cost, self._limit, self._window, now))

    def take_now(self, cost: int) -> bool:
        """Record ``cost`` now if the window has room and no pause holds (True); else record
        nothing (False: :meth:`decide` says how long to wait)."""
        return self._take(cost, self._clock())

    def _take(self, cost: int, now: float) -> bool:
        self._expire(now)
        # However the pause got here (or the clock moved), it never reaches past the bound.
        self._paused_until = min(self._paused_until, now + self._bound)
        if now < self._paused_until or self._used + cost > self._limit:
            return False
        self._log.append((now, cost))
        self._used += cost
        return True

    def take(self, cost: int, now: float | None = None) -> float:
        """Seconds to wait (0.0: granted and recorded)."""
        return self.decide(cost, now).wait

    def pause_for(self, seconds: float) -> None:
        until = self._clock() + bound_pause(seconds, self._bound)
        self._paused_until = max(self._paused_until, until)

    def clear_pause(self) -> None:
        self._paused_until = 0.0

    def used(self, now: float | None = None) -> int:
        self._expire(self._clock() if now is None else now)
        return self._used

    def grants(self, now: float | None = None) -> list[tuple[float, int]]:
        """The grants still in the window, oldest first: (time, cost)."""
        self._expire(self._clock() if now is None else now)
        return list(self._log)


def spent_refusal(wait: float, limit: int, window: float, where: str = "") -> RateLimited:
    """The budget is spent in this client: nothing was sent. ``where`` says which budget."""
    detail = GraphQLErrorDetail(
        message=(
            f"client-side rate budget spent ({limit} queries per {window:g} s{where}); "
            f"a slot frees in {wait:.3f} s"
        ),
        extensions={"code": CLIENT_BUDGET_CODE, "reason": REASON_SPENT},
    )
    return RateLimited([detail], retry_after=wait)


def pause_refusal(wait: float, bound: float) -> RateLimited:
    """The server's rate limit paused the budget: nothing was sent."""
    until = _wall_time_in(wait)
    detail = GraphQLErrorDetail(
        message=(
            f"paused by the server's rate limit until {until} (in {wait:.3f} s; "
            f"a pause lasts at most {bound:g} s, and a successful answer ends it)"
        ),
        extensions={"code": CLIENT_BUDGET_CODE, "reason": REASON_PAUSE, "paused_until": until},
    )
    return RateLimited([detail], retry_after=wait)


def locked_refusal(path: Path, timeout: float) -> RateLimited:
    """Another process held the budget file's lock too long: no grant, nothing was sent."""
    detail = GraphQLErrorDetail(
        message=(
            f"the rate budget file {path} was locked for {timeout:g} s by another process; "
            "nothing was sent"
        ),
        extensions={"code": CLIENT_BUDGET_CODE, "reason": REASON_LOCKED},
    )
    return RateLimited([detail], retry_after=timeout)


def _wall_time_in(seconds: float) -> str:
    # Stores may run on a monotonic clock; people read wall time.
    try:
        when = datetime.fromtimestamp(time.time() + seconds, UTC)
    except (OverflowError, ValueError, OSError):
        return f"{seconds:.0f} s from now"
    return when.isoformat(timespec="seconds")
