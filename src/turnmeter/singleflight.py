"""Single-flight: identical concurrent requests share one request to the server.

The shared request runs as its own task and every caller awaits it through
:func:`asyncio.shield`, so one caller's cancellation never cancels the request the others are
waiting for. The tasks are tracked so that closing the client can wait for them or cancel them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """Runs at most one ``fetch`` per key at a time; late callers join the running one."""

    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Task[T]] = {}

    def __len__(self) -> int:
        return len(self._running)

    async def run(self, key: Hashable, fetch: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """The result of ``fetch()``, shared with every caller asking for ``key`` meanwhile."""
        task = self._running.get(key)
        if task is None:
            task = asyncio.create_task(fetch())
            self._running[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        return await asyncio.shield(task)

    def tasks(self) -> list[asyncio.Task[T]]:
        """The requests in flight."""
        return list(self._running.values())

    def _forget(self, key: Hashable, task: asyncio.Task[T]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        # If every caller was cancelled nobody reads the outcome; read it here so asyncio
        # does not report "exception was never retrieved".
        if not task.cancelled():
            task.exception()
