"""Single-flight: identical concurrent requests share one request to the server.

The first caller for a key (the leader) runs the request inline, in its own task: no task and
no future are made for it, so a request nobody shares costs no event-loop hop over a plain
``await``. Callers that arrive while it runs (followers) each wait on a future of their own,
which the leader resolves when the request ends.

Cancellation never costs another caller its answer:

* A cancelled follower only loses its future; the request goes on for the others.
* A cancelled leader takes the request down with it (it ran in the leader's task). If
  followers are still waiting, the request is handed over: a new task sends it again and
  answers them. The cancelled attempt may already have reached the server, so in that rare
  case the server sees the request twice (and the rate budget pays for it twice).
* :meth:`SingleFlight.close` waits up to its grace for the requests in flight, then cancels
  them: a handed-over request's task, or the leader's own task, whose cancellation is taken
  back (:meth:`asyncio.Task.uncancel`, as :func:`asyncio.timeout` does) once it has reached the
  request, so the leader sees a :class:`asyncio.CancelledError` with ``cancelling() == 0``
  and the caller's task is not left cancelled. Callers, followers included, tell a request
  cancelled by close() from their own cancellation that way (see ``AiohttpTransport.execute``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Fetch = Callable[[], Coroutine[Any, Any, T]]


class _Flight(Generic[T]):
    """One shared request: who runs it, the futures of the callers waiting for it."""

    __slots__ = ("closing", "fetch", "finished", "task", "waiters")

    def __init__(self, task: asyncio.Task[Any] | None, fetch: Fetch[T]) -> None:
        #: The task running the request: the leader's own, or a handover task.
        self.task = task
        self.fetch = fetch
        self.waiters: list[asyncio.Future[T]] = []
        #: Set by close() right before it cancels the request.
        self.closing = False
        #: Resolved when the request ends; made only when close() waits for it.
        self.finished: asyncio.Future[None] | None = None


class SingleFlight(Generic[T]):
    """Runs at most one ``fetch`` per key at a time; late callers join the running one."""

    def __init__(self) -> None:
        self._running: dict[Hashable, _Flight[T]] = {}

    def __len__(self) -> int:
        return len(self._running)

    async def run(self, key: Hashable, fetch: Fetch[T]) -> T:
        """The result of ``fetch()``, shared with every caller asking for ``key`` meanwhile."""
        flight = self._running.get(key)
        if flight is not None:
            return await self._follow(flight)
        task = asyncio.current_task()
        flight = self._running[key] = _Flight(task, fetch)
        if task is None:  # not run by an asyncio task: nothing to run the request inline in
            self._hand_over(key, flight)
            return await self._follow(flight)
        try:
            value = await fetch()
        except asyncio.CancelledError:
            self._leader_cancelled(key, flight, task)
            raise
        except BaseException as exc:
            self._end(key, flight)
            _fail(flight.waiters, exc)
            raise
        self._end(key, flight)
        for waiter in flight.waiters:
            if not waiter.done():
                waiter.set_result(value)
        return value

    async def close(self, grace: float) -> None:
        """Wait up to ``grace`` seconds for the requests in flight, then cancel what is left
        and wait for it to unwind (aiohttp releases their connections)."""
        flights = list(self._running.values())
        if not flights:
            return
        loop = asyncio.get_running_loop()
        for flight in flights:
            if flight.finished is None:
                flight.finished = loop.create_future()
        ends = {flight.finished: flight for flight in flights if flight.finished is not None}
        _, pending = await asyncio.wait(ends, timeout=grace)
        for end in pending:
            flight = ends[end]
            if flight.closing:
                continue  # another close() cancelled it already: one cancellation to take back
            flight.closing = True
            if flight.task is not None:
                flight.task.cancel()
        if pending:
            await asyncio.wait(pending)

    async def _follow(self, flight: _Flight[T]) -> T:
        waiter: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        flight.waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # Cancelled after the outcome was handed over: mark it read, or asyncio reports
                # "exception was never retrieved" when the future is collected.
                waiter.exception()
            elif waiter in flight.waiters:
                flight.waiters.remove(waiter)  # no longer waiting: a handover need not run
            raise

    def _leader_cancelled(self, key: Hashable, flight: _Flight[T], task: asyncio.Task[Any]) -> None:
        if flight.closing:
            # close() cancelled the request: take its cancellation back (the caller's own, if
            # any, stays), and every caller learns that the client closed.
            task.uncancel()
            self._end(key, flight)
            _fail(flight.waiters, None)
        elif any(not waiter.done() for waiter in flight.waiters):
            self._hand_over(key, flight)
        else:
            self._end(key, flight)

    def _hand_over(self, key: Hashable, flight: _Flight[T]) -> None:
        """Run the request (again) in a task of its own, for the callers waiting on it."""
        flight.task = asyncio.get_running_loop().create_task(self._lead(key, flight))

    async def _lead(self, key: Hashable, flight: _Flight[T]) -> None:
        try:
            value = await flight.fetch()
        except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
            # Only close() (or the interpreter stopping) ends the handover task this way.
            self._end(key, flight)
            _fail(flight.waiters, None)
            raise
        except Exception as exc:  # handed to the callers, who re-raise it
            self._end(key, flight)
            _fail(flight.waiters, exc)
            return
        self._end(key, flight)
        for waiter in flight.waiters:
            if not waiter.done():
                waiter.set_result(value)

    def _end(self, key: Hashable, flight: _Flight[T]) -> None:
        if self._running.get(key) is flight:
            del self._running[key]
        if flight.finished is not None and not flight.finished.done():
            flight.finished.set_result(None)


def _fail(waiters: list[asyncio.Future[Any]], exc: BaseException | None) -> None:
    """Hand ``exc`` to every waiting caller; cancel them for None or anything not an Exception
    (a cancellation, the interpreter stopping)."""
    for waiter in waiters:
        if waiter.done():
            continue
        if isinstance(exc, Exception):
            waiter.set_exception(exc)
        else:
            waiter.cancel()
