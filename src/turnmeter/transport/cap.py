"""The concurrency cap: at most ``slots`` attempts on the wire at once, first come first served.

:class:`asyncio.Semaphore` does this job, but every ``async with`` builds three coroutines and
its ``locked()`` check runs a generator over the waiters, on every request. Here a free slot is
taken by one synchronous call (:meth:`ConcurrencyCap.take_now`) that neither awaits nor yields;
only a caller that finds the cap full waits, on a future of its own. A released slot goes
straight to the longest waiter, so a newcomer never overtakes someone already waiting.
"""

from __future__ import annotations

import asyncio
from collections import deque


class ConcurrencyCap:
    """``slots`` slots; :meth:`take_now` or ``await`` :meth:`take`, then :meth:`release`."""

    __slots__ = ("_free", "_waiters")

    def __init__(self, slots: int) -> None:
        self._free = slots
        self._waiters: deque[asyncio.Future[None]] = deque()

    def take_now(self) -> bool:
        """Take a slot if one is free and nobody waits for one: True; else take nothing."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return True
        return False

    async def take(self) -> None:
        """Take a slot, waiting for one if need be. A caller cancelled while waiting holds none."""
        if self.take_now():
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a slot right as it was cancelled: pass it on
            elif waiter in self._waiters:  # release() may have dropped it already
                self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        """Give a slot back: to the longest waiter still waiting, else to the free count."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1

    def free(self) -> int:
        """Slots free right now."""
        return self._free
