"""A lease in Redis: at most one holder per name across a fleet, until it stops renewing.

Taken with ``SET name owner NX PX ttl``; renewed and released by the holder only, with
compare-and-set scripts (a holder whose lease expired and was taken by another cannot renew or
delete the new holder's). A crashed holder stops renewing and its lease expires ``ttl`` after
the last renewal, when the next replica that asks takes it. Wrap any poll loop with it::

    lease = Lease(RedisConnection(RedisURL(url)), "turnmeter:exporter:ACCOUNT", ttl=30)
    while True:
        if await lease.hold():             # take it, or renew it if ours
            await poll_and_publish()        # only the holder asks Cloudflare
        await asyncio.sleep(lease.next_attempt_in(interval=10))

Redis errors leave as :class:`~turnmeter.errors.StoreUnavailable` (and then ``held`` is False:
a lease that cannot be renewed is not vouched for).
"""

from __future__ import annotations

import math
import os
import secrets
import time

from turnmeter.errors import ConfigError
from turnmeter.transport.redis_conn import RedisConnection

#: Seconds past another holder's expiry to ask again: Redis counts ttls in milliseconds.
EXPIRY_SLACK = 0.005
#: Renew only if the stored owner is us (ARGV: owner, ttl in ms).
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
#: Delete only if the stored owner is us.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Lease:
    """One named lease; ``owner`` defaults to a random id with this process's pid in it."""

    def __init__(
        self, redis: RedisConnection, name: str, ttl: float, *, owner: str | None = None
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ConfigError(f"a lease needs a non-empty name, got {name!r}")
        if not (isinstance(ttl, int | float) and math.isfinite(ttl) and ttl >= 0.01):
            raise ConfigError(f"a lease's ttl must be finite seconds >= 0.01, got {ttl!r}")
        self.redis = redis
        self.name = name
        self.ttl = float(ttl)
        self.owner = owner or f"{os.getpid()}-{secrets.token_hex(8)}"
        self._held = False
        self._renewed = 0.0
        #: Seconds until another holder's lease expires, as Redis said last (None: unknown).
        self.other_expires_in: float | None = None
        self._asked = time.monotonic()

    def __repr__(self) -> str:
        return f"Lease({self.name!r}, ttl={self.ttl:g}, held={self.held})"

    @property
    def held(self) -> bool:
        """True while the last take or renewal is younger than the ttl (by this process's
        clock, started before the command: a stalled holder stops claiming it in time)."""
        return self._held and time.monotonic() - self._renewed < self.ttl

    @property
    def _ttl_ms(self) -> int:
        return max(1, math.ceil(self.ttl * 1000))

    async def hold(self) -> bool:
        """Renew the lease if ours, else take it if free; True while this process holds it."""
        self._asked = asked = time.monotonic()
        try:
            if self._held:
                renewed = await self.redis.run(
                    "renew a lease", _RENEW, [self.name], [self.owner, self._ttl_ms]
                )
                if renewed:
                    self._renewed = asked
                    return True
            taken = await self.redis.call(
                "take a lease",
                lambda client: client.set(self.name, self.owner, nx=True, px=self._ttl_ms),
            )
            self._held, self._renewed = bool(taken), asked
            if not taken:
                left = int(await self.redis.call("read a lease", lambda c: c.pttl(self.name)))
                self.other_expires_in = left / 1000 if left >= 0 else None
                self._asked = time.monotonic()  # counted from the answer: never wake early
            return self._held
        except BaseException:
            self._held = False
            raise

    async def release(self) -> None:
        """Give the lease up (only if still ours) so another replica takes it at once."""
        if self._held:
            self._held = False
            await self.redis.run("release a lease", _RELEASE, [self.name], [self.owner])

    def next_attempt_in(self, interval: float) -> float:
        """Seconds until the next :meth:`hold`: every ``interval`` while holding (renewing well
        within the ttl), else when the other holder's lease would expire if not renewed."""
        if self.held or self.other_expires_in is None:
            wait = min(interval, self.ttl / 3) if self.held else interval
        else:
            wait = min(interval, self.other_expires_in + EXPIRY_SLACK)
        return max(wait - (time.monotonic() - self._asked), 0.001)
