"""The budget guard's side of a fleet: the lease per account and scope, and the shared number.

The holder publishes month start, ``as_of``, egress bytes and when its query started, stamped
with the Redis server's clock (so every replica computes the same age, whatever its own clock
says); the key expires after ``max_staleness``, when the number would be unknown anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from turnmeter.errors import StoreUnavailable
from turnmeter.fleet.config import Fleet, RedisDown
from turnmeter.fleet.lease import Lease
from turnmeter.transport.observability import budget_logger as _log
from turnmeter.transport.redis_conn import RedisConnection
from turnmeter.transport.redis_url import RedisURL

#: ARGV: month_start, as_of (ISO), egress bytes, age (s since the query started), keep (ms).
_PUBLISH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('HSET', KEYS[1], 'month_start', ARGV[1], 'as_of', ARGV[2], 'egress', ARGV[3],
           'taken', string.format('%.6f', now - tonumber(ARGV[4])))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
"""
#: The published fields and their age by the server's clock, or nil.
_READ = """
local v = redis.call('HMGET', KEYS[1], 'month_start', 'as_of', 'egress', 'taken')
if not v[1] or not v[2] or not v[3] or not tonumber(v[4]) then return nil end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
return {v[1], v[2], v[3], string.format('%.6f', now - tonumber(v[4]))}
"""


#: Seconds between two looks at Redis while the holder has not published a number yet
#: (doubling up to SHARED_POLL_MAX: a cold fleet gets its number fast, a hung holder costs
#: Redis a look a second).
SHARED_POLL = 0.02
SHARED_POLL_MAX = 1.0


@dataclass(frozen=True, slots=True)
class SharedReading:
    """A number some replica published: the month, its end, egress, and its age (seconds)."""

    month_start: datetime
    as_of: datetime
    egress_bytes: int
    age: float


@dataclass(frozen=True, slots=True)
class Turn:
    """What a replica does this refresh: ``query`` Cloudflare itself, or adopt ``shared`` (None:
    no number yet); ``error`` says why nothing is known when Redis is down under ``UNKNOWN``."""

    query: bool
    shared: SharedReading | None = None
    error: str | None = None


class GuardLink:
    """One guard's lease and shared number in Redis (keys named after account and scope)."""

    def __init__(self, fleet: Fleet, *, account: str, scope: str, refresh_interval: float) -> None:
        self.fleet = fleet
        self.redis = RedisConnection(RedisURL.of(fleet.url), timeout=fleet.timeout)
        base = f"{fleet.name}:guard:{account}:{scope}"
        self.lease = Lease(self.redis, f"{base}:lease", fleet.lease_for(refresh_interval))
        self._key = f"{base}:reading"
        #: Why Redis is unreachable (None while it answers); logged when it starts and ends.
        self.down: str | None = None

    def __repr__(self) -> str:
        return f"GuardLink({self.redis.url.shown!r}, {self._key!r})"

    async def turn(
        self, month: datetime, refresh_interval: float, monotonic: Callable[[], float]
    ) -> Turn:
        """Hold the lease and query, or adopt the holder's number for ``month``, waiting up to
        a refresh interval for a first one; Redis down: ``fleet.on_redis_down`` decides."""
        until = monotonic() + refresh_interval
        poll = SHARED_POLL
        try:
            while True:
                # held again after hold(): a replica stalled past its lease does not query.
                if await self.lease.hold() and self.lease.held:
                    self._back()
                    return Turn(query=True)
                shared = await self.read()
                self._back()
                if shared is not None and shared.month_start == month:
                    return Turn(query=False, shared=shared)
                if monotonic() >= until:
                    return Turn(query=False)
                await asyncio.sleep(poll)
                poll = min(poll * 2, SHARED_POLL_MAX)
        except StoreUnavailable as exc:
            self._lost(exc)
            if self.fleet.on_redis_down is RedisDown.POLL_LOCALLY:
                return Turn(query=True)
            return Turn(query=False, error=f"StoreUnavailable: {exc}")

    async def publish(
        self, month_start: datetime, as_of: datetime, egress_bytes: int, age: float, keep: float
    ) -> None:
        """Publish the holder's number (skipped while Redis is down; a failure is logged)."""
        if self.down is not None:
            return
        try:
            await self._publish(month_start, as_of, egress_bytes, age, keep)
        except StoreUnavailable as exc:
            self._lost(exc)

    def _lost(self, exc: StoreUnavailable) -> None:
        if self.down is None:
            policy = self.fleet.on_redis_down.value
            _log.warning("budget fleet unavailable, policy %s: %s", policy, exc)
        self.down = str(exc)

    def _back(self) -> None:
        if self.down is not None:
            _log.warning("budget fleet reachable again")
            self.down = None

    async def _publish(
        self, month_start: datetime, as_of: datetime, egress_bytes: int, age: float, keep: float
    ) -> None:
        args: list[Any] = [
            month_start.isoformat(),
            as_of.isoformat(),
            egress_bytes,
            repr(max(age, 0.0)),
            max(1, int(keep * 1000)),
        ]
        await self.redis.run("publish the month's number", _PUBLISH, [self._key], args)

    async def read(self) -> SharedReading | None:
        reply = await self.redis.run("read the month's number", _READ, [self._key], [])
        if not reply:
            return None
        try:
            month, as_of, egress, age = (_text(part) for part in reply)
            return SharedReading(
                datetime.fromisoformat(month),
                datetime.fromisoformat(as_of),
                int(egress),
                max(float(age), 0.0),
            )
        except (TypeError, ValueError):
            return None  # not ours (another writer, an older layout): as if none was published

    async def aclose(self) -> None:
        try:
            await self.lease.release()
        finally:
            await self.redis.aclose()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
