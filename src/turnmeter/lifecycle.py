"""The ``async with`` protocol, written once for turnmeter's long-lived objects.

A class says what entering and leaving do (``_enter``, ``_exit``); :class:`AsyncLifecycle`
turns them into ``__aenter__`` (which returns the object itself) and ``__aexit__``.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self


class AsyncLifecycle:
    """Mixin: ``async with obj`` awaits ``obj._enter()``, then ``obj._exit(error)`` on leaving."""

    __slots__ = ()

    async def _enter(self) -> None:
        """What entering does; nothing unless a subclass says otherwise."""

    async def _exit(self, exc: BaseException | None) -> None:
        """What leaving does; ``exc`` is the error leaving the block (``None`` on success)."""

    async def __aenter__(self) -> Self:
        await self._enter()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._exit(exc)
