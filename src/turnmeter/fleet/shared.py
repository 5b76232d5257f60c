"""The budget guard's side of a fleet: the lease per account and scope, and the shared number.

The holder publishes month start, ``as_of``, egress bytes and when its query started, stamped
with the Redis server's clock (so every replica computes the same age, whatever its own clock
says); the key expires after ``max_staleness``, when the number would be unknown anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from turnmeter.fleet.config import Fleet
from turnmeter.fleet.lease import Lease
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


@dataclass(frozen=True, slots=True)
class SharedReading:
    """A number some replica published: the month, its end, egress, and its age (seconds)."""

    month_start: datetime
    as_of: datetime
    egress_bytes: int
    age: float


class GuardLink:
    """One guard's lease and shared number in Redis (keys named after account and scope)."""

    def __init__(self, fleet: Fleet, *, account: str, scope: str, refresh_interval: float) -> None:
        self.fleet = fleet
        self.redis = RedisConnection(RedisURL.of(fleet.url), timeout=fleet.timeout)
        base = f"{fleet.name}:guard:{account}:{scope}"
        self.lease = Lease(self.redis, f"{base}:lease", fleet.lease_for(refresh_interval))
        self._key = f"{base}:reading"

    def __repr__(self) -> str:
        return f"GuardLink({self.redis.url.shown!r}, {self._key!r})"

    async def publish(
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
