"""An optional TTL cache of answers, and the age of every answer a caller gets.

The cache keeps each successful answer (the ``data`` object, keyed by the exact request body:
query, operation and variables) for ``ttl`` seconds. Failures are never cached. Answers are
shared between callers: treat them as read-only.

Every answer has an age: seconds since its response arrived (about 0 for a fresh request or
one shared with a concurrent identical caller; more for a cached one). Wrap any facade call in
:func:`with_age` to get its value together with the age of the oldest answer it used::

    answer = await with_age(turn.total(since, until), max_age=30)
    answer.value, answer.age, answer.cached

``max_age`` tightens the client's ``cache_ttl`` for that call (``max_age=0`` forces a new request);
it never keeps answers longer than ``cache_ttl``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from turnmeter.errors import ConfigError

T = TypeVar("T")

#: Distinct answers the cache holds at most; the oldest go first.
DEFAULT_CACHE_ENTRIES = 1024


@dataclass(frozen=True, slots=True)
class Freshness:
    """How old one answer is (seconds since its response arrived), and whether it was cached."""

    age: float
    cached: bool


@dataclass(frozen=True, slots=True)
class Answer(Generic[T]):
    """A value with the age of the oldest server answer behind it."""

    value: T
    age: float
    cached: bool


class TTLCache:
    """Answers by request body, each kept ``ttl`` seconds (monotonic clock)."""

    def __init__(
        self,
        ttl: float,
        *,
        max_entries: int = DEFAULT_CACHE_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0:
            raise ConfigError("cache_ttl must be positive (or None for no cache)")
        self.ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[Hashable, tuple[float, Any]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable, max_age: float | None = None) -> tuple[Any, float] | None:
        """``(answer, age)`` if an answer younger than ``ttl`` (and ``max_age``) is held."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        age = self._clock() - entry[0]
        limit = self.ttl if max_age is None else min(self.ttl, max_age)
        if age >= self.ttl:
            del self._entries[key]
            return None
        return (entry[1], age) if age <= limit else None

    def put(self, key: Hashable, answer: Any, arrived: float) -> None:
        """Keep ``answer``, which arrived at ``arrived`` (on this cache's clock)."""
        self._entries.pop(key, None)  # re-insert: dict order is age order
        self._entries[key] = (arrived, answer)
        if len(self._entries) > self._max_entries:
            self._evict()

    def clear(self) -> None:
        """Forget every answer."""
        self._entries.clear()

    def now(self) -> float:
        """This cache's clock."""
        return self._clock()

    def _evict(self) -> None:
        horizon = self._clock() - self.ttl
        for key in [k for k, (arrived, _) in self._entries.items() if arrived <= horizon]:
            del self._entries[key]
        while len(self._entries) > self._max_entries:
            del self._entries[next(iter(self._entries))]


# Per-call state travels in context variables: a facade call and every task it starts see the
# caller's max_age, and record the ages of the answers they used into the caller's list.
_max_age: ContextVar[float | None] = ContextVar("turnmeter_max_age", default=None)
_ages: ContextVar[list[Freshness] | None] = ContextVar("turnmeter_ages", default=None)


def requested_max_age() -> float | None:
    """The ``max_age`` of the :func:`with_age` call in progress, if any."""
    return _max_age.get()


def note_freshness(age: float, cached: bool) -> None:
    """Record the age of one answer for the :func:`with_age` call in progress, if any."""
    ages = _ages.get()
    if ages is not None:
        # Built only when someone asked: most calls run outside with_age.
        ages.append(Freshness(age=age, cached=cached))


def note_arrival(arrived: float) -> None:
    """Record a fresh answer that arrived at ``arrived`` (``time.monotonic()``), as
    :func:`note_freshness` does; its age is only worked out when someone asked."""
    ages = _ages.get()
    if ages is not None:
        ages.append(Freshness(age=max(0.0, time.monotonic() - arrived), cached=False))


async def with_age(awaitable: Awaitable[T], *, max_age: float | None = None) -> Answer[T]:
    """Await a facade call; return its value with the age of the oldest answer behind it.

    ``max_age`` (seconds) is the oldest cached answer the call may use. A call that needed no
    request at all (nothing to ask) reports age 0.
    """
    if max_age is not None and max_age < 0:
        raise ConfigError("max_age must not be negative")
    ages: list[Freshness] = []
    age_token = _ages.set(ages)
    max_age_token = _max_age.set(max_age)
    try:
        value = await awaitable
    finally:
        _max_age.reset(max_age_token)
        _ages.reset(age_token)
    if not ages:
        return Answer(value, 0.0, False)
    oldest = max(ages, key=lambda freshness: freshness.age)
    return Answer(value, oldest.age, any(freshness.cached for freshness in ages))
