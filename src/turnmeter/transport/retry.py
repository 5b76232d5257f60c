"""Retry policy: jittered exponential backoff, bounded by attempts and by total time.

The policy only computes delays; whether a failure may be retried at all is decided by
:func:`turnmeter.transport.classify.retry_verdict`, and the loop itself lives in the transport (each
attempt has to pass the rate budget and the concurrency cap again).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from turnmeter.transport.classify import Retry, retry_verdict
from turnmeter.validate import positive_int, seconds

#: Attempts per request, the first included.
DEFAULT_MAX_ATTEMPTS = 3
#: Backoff before the second attempt (seconds); doubled for each further attempt.
DEFAULT_BASE_DELAY = 0.5
#: No single backoff is longer than this (seconds).
DEFAULT_MAX_DELAY = 8.0
#: No retry starts, and no wait ends, later than this after the first attempt began (seconds).
DEFAULT_TOTAL_TIME = 30.0
#: Doublings of base_delay at most: 2**64 times any sane base_delay is past any max_delay,
#: and the float power stays far from overflowing (which it does at 2.0 ** 1024).
_MAX_DOUBLINGS = 64


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long a request is retried.

    The n-th backoff is ``min(max_delay, base_delay * 2**(n-1))`` with "equal jitter" (half
    fixed, half random), so concurrent clients spread out but never hammer with zero waits.
    A rate limit's ``retry_after`` replaces the backoff, and is only honoured when it fits in
    what remains of ``total_time``; otherwise the :class:`RateLimited` reaches the caller.
    """

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    base_delay: float = DEFAULT_BASE_DELAY
    max_delay: float = DEFAULT_MAX_DELAY
    total_time: float = DEFAULT_TOTAL_TIME

    def __post_init__(self) -> None:
        # Any count of attempts is fine (total_time bounds them); every duration is finite.
        positive_int("max_attempts", self.max_attempts)
        for name in ("base_delay", "max_delay", "total_time"):
            seconds(name, getattr(self, name), allow_zero=True)

    @classmethod
    def none(cls) -> RetryPolicy:
        """One attempt, no retries."""
        return cls(max_attempts=1)

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """The wait after failed attempt number ``attempt`` (1-based), jittered."""
        # The exponent is capped: 2.0 ** 1024 overflows, and far sooner the doubling has long
        # passed max_delay anyway.
        doublings = min(max(attempt - 1, 0), _MAX_DOUBLINGS)
        ceiling = min(self.max_delay, self.base_delay * 2.0**doublings)
        jitter: float = (rng or random).uniform(0, ceiling / 2)
        return ceiling / 2 + jitter

    def delay_after(
        self,
        exc: BaseException,
        attempt: int,
        elapsed: float,
        rng: random.Random | None = None,
    ) -> float | None:
        """Seconds to wait before retrying after ``exc``, or None when it must not be retried."""
        if attempt >= self.max_attempts:
            return None
        verdict = retry_verdict(exc)
        if verdict.retry is Retry.FINAL:
            return None
        # A rate limit says when to come back; anything else backs off exponentially.
        delay = (
            (verdict.after or 0.0) if verdict.retry is Retry.AFTER else self.backoff(attempt, rng)
        )
        if elapsed + delay > self.total_time:
            return None
        return delay


#: No retries at all.
NO_RETRY = RetryPolicy.none()


@dataclass(frozen=True, slots=True)
class RetryEvent:
    """Handed to the retry hook before each retry: what failed, and how long until the next try."""

    operation: str | None
    attempt: int
    delay: float
    error: BaseException
    elapsed: float

    def __str__(self) -> str:
        return (
            f"{self.operation or 'request'} attempt {self.attempt} failed with "
            f"{type(self.error).__name__}; retrying in {self.delay:.3f} s"
        )


#: A callable run before every retry (for metrics); it must not block.
RetryHook = Callable[[RetryEvent], None]
