"""Cloudflare's query budget: a burst of ``limit`` queries refilled over ``window`` seconds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: What ``viewer.budget`` reports when the sandbox runs without a rate limit.
UNLIMITED_BUDGET = 1_000_000


class QueryBudget:
    """A token bucket: ``limit`` tokens, refilled continuously at ``limit / window`` per second.

    That is "300 per 5 minutes, a burst of 300 or about 1/s" from Cloudflare's docs. ``limit``
    None means unlimited. The clock is real (monotonic) even when the sandbox date is fixed.
    """

    def __init__(
        self,
        limit: int | None,
        window: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._tokens = float(limit or 0)
        self._stamp = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        if self.limit is not None and self.window > 0:
            rate = self.limit / self.window
            self._tokens = min(float(self.limit), self._tokens + (now - self._stamp) * rate)
        self._stamp = now

    def try_spend(self, cost: int) -> bool:
        """Take ``cost`` tokens if all are there; False (and take none) otherwise."""
        if self.limit is None or cost == 0:
            return True
        with self._lock:
            self._refill()
            if self._tokens + 1e-9 < cost:
                return False
            self._tokens -= cost
            return True

    def remaining(self) -> int:
        """Whole queries left right now."""
        if self.limit is None:
            return UNLIMITED_BUDGET
        with self._lock:
            self._refill()
            return int(self._tokens + 1e-9)

    def reset(self) -> None:
        """Refill completely (tests and the control API use this)."""
        with self._lock:
            self._tokens = float(self.limit or 0)
            self._stamp = self._clock()
