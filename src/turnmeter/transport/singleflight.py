"""Single-flight: identical concurrent requests share one request to the server.

The shared request runs as its own task, so no caller's cancellation can reach it: each caller
waits on a future of its own, which the task resolves when the request ends. A cancelled caller
only loses its future; the others still get the answer. The tasks are tracked so that closing
the client can wait for them or cancel them (a cancelled task cancels every caller's future).

This is :func:`asyncio.shield` without its extra future and callback hop: the task hands the
outcome to the callers' futures itself, which saves one event-loop turn per request (about a
fifth of the pipeline's cost per request, bench/RESULTS.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class _Flight(Generic[T]):
    """One shared request: its task and the futures of the callers waiting for it."""

    __slots__ = ("task", "waiters")

    def __init__(self) -> None:
        self.waiters: list[asyncio.Future[T]] = []
        self.task: asyncio.Task[None] | None = None


class SingleFlight(Generic[T]):
    """Runs at most one ``fetch`` per key at a time; late callers join the running one."""

    def __init__(self) -> None:
        self._running: dict[Hashable, _Flight[T]] = {}

    def __len__(self) -> int:
        return len(self._running)

    async def run(self, key: Hashable, fetch: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """The result of ``fetch()``, shared with every caller asking for ``key`` meanwhile."""
        flight = self._running.get(key)
        if flight is None:
            flight = self._running[key] = _Flight()
            flight.task = asyncio.create_task(self._lead(key, flight, fetch()))
        waiter: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        flight.waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            # Cancelled after the outcome was handed over: mark it read, or asyncio reports
            # "exception was never retrieved" when the future is collected.
            if waiter.done() and not waiter.cancelled():
                waiter.exception()
            raise

    def tasks(self) -> list[asyncio.Task[None]]:
        """The requests in flight."""
        return [flight.task for flight in self._running.values() if flight.task is not None]

    async def _lead(
        self, key: Hashable, flight: _Flight[T], request: Coroutine[Any, Any, T]
    ) -> None:
        try:
            value = await request
        except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
            # Only close() (or the interpreter stopping) ends the shared task this way: every
            # caller learns it was cancelled.
            self._forget(key, flight)
            for waiter in flight.waiters:
                waiter.cancel()
            raise
        except Exception as exc:  # handed to the callers, who re-raise it
            self._forget(key, flight)
            for waiter in flight.waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        self._forget(key, flight)
        for waiter in flight.waiters:
            if not waiter.done():
                waiter.set_result(value)

    def _forget(self, key: Hashable, flight: _Flight[T]) -> None:
        if self._running.get(key) is flight:
            del self._running[key]
