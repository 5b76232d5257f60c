"""The retry loop every transport shares: attempt, and on a typed error wait and try again.

Whether and how long to wait is the :class:`~turnmeter.transport.retry.RetryPolicy`'s call;
each retry is logged and reported to the ``on_retry`` hook, the final failure is logged once.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from turnmeter.errors import TurnmeterError
from turnmeter.transport.observability import log_failure, log_retry
from turnmeter.transport.retry import RetryEvent, RetryHook, RetryPolicy

T = TypeVar("T")


async def retrying(
    send: Callable[[int], Awaitable[T]],
    *,
    policy: RetryPolicy,
    operation: str | None,
    started: float,
    rng: random.Random,
    on_retry: RetryHook | None = None,
    retryable: Callable[[TurnmeterError], bool] | None = None,
    first_failure: TurnmeterError | None = None,
) -> T:
    """``await send(attempt)`` (attempt 1, 2, ...) until it answers or the policy gives up.

    ``started`` (``time.monotonic()``) is when the request began, for the policy's deadline;
    ``retryable(error)`` False re-raises at once (it may also act on the error). A caller that
    made attempt 1 itself (the transport's fast path: no loop for a request answered at once)
    passes its error as ``first_failure``; the loop goes on from there.
    """
    attempt = 1
    failure = first_failure
    if failure is None:
        attempt = 0
    while True:
        if failure is not None:
            await _after(failure, attempt, policy, operation, started, rng, on_retry, retryable)
        attempt += 1
        try:
            return await send(attempt)
        except TurnmeterError as exc:
            failure = exc


async def _after(
    failure: TurnmeterError,
    attempt: int,
    policy: RetryPolicy,
    operation: str | None,
    started: float,
    rng: random.Random,
    on_retry: RetryHook | None,
    retryable: Callable[[TurnmeterError], bool] | None,
) -> None:
    """Wait before the next attempt, or re-raise ``failure`` when there is none."""
    elapsed = time.monotonic() - started
    again = retryable is None or retryable(failure)
    delay = policy.delay_after(failure, attempt, elapsed, rng) if again else None
    if delay is None:
        log_failure(operation, attempt, elapsed, failure)
        raise failure
    event = RetryEvent(operation, attempt, delay, failure, elapsed)
    log_retry(event)
    if on_retry is not None:
        on_retry(event)
    await asyncio.sleep(delay)
