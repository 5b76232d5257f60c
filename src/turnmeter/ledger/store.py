"""The one interface every ledger store implements (:func:`turnmeter.ledger.urls.open_store`
opens one from its URL)."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

from turnmeter.ledger.migrations import LATEST
from turnmeter.ledger.model import BucketRow, Cover, Series, SeriesSpec


class LedgerStore(abc.ABC):
    """Where the ledger lives. Every method is a coroutine; none blocks the event loop."""

    #: The store's URL with any password hidden: safe for logs, reprs and messages.
    display: str

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.display!r})"

    @abc.abstractmethod
    async def open(self, target_version: int = LATEST) -> None:
        """Connect, and migrate the schema up to ``target_version``."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def version(self) -> int:
        """The schema version the store is at (0: empty)."""

    @abc.abstractmethod
    async def all_series(self) -> list[Series]: ...

    @abc.abstractmethod
    async def ensure_series(self, spec: SeriesSpec, since: int) -> Series:
        """The stored series for ``spec``, created if missing; an earlier ``since`` extends it."""

    @abc.abstractmethod
    async def coverage(self, series_id: int) -> list[Cover]:
        """Every covered bucket of a series, oldest first."""

    @abc.abstractmethod
    async def replace_window(
        self,
        series_id: int,
        start: int,
        end: int,
        rows: Sequence[BucketRow],
        covers: Sequence[Cover],
    ) -> None:
        """In one transaction: the bucket rows of ``[start, end)`` become ``rows`` (upserted by
        key, rows the new answer no longer has removed) and ``covers`` are recorded."""

    @abc.abstractmethod
    async def aggregate(
        self, series_id: int, start: int, end: int, step: int | None, columns: tuple[str, ...]
    ) -> list[tuple[Any, ...]]:
        """``(time bucket?, *columns, egress, ingress)`` sums over buckets starting in
        ``[start, end)``; the time bucket (epoch seconds) only when ``step`` is given."""

    @abc.abstractmethod
    async def rows(self, series_id: int) -> list[BucketRow]:
        """Every bucket row of a series, in key order (exports, byte-for-byte comparisons)."""

    @abc.abstractmethod
    async def size_bytes(self) -> int:
        """Space the ledger takes on disk."""
