"""The rate budget's window in Redis, shared by every process on every host.

Each decision is one Lua script, so it is atomic in Redis: expire old grants, honour a pause,
sum the costs in the window, record the grant or say how long to wait. Time is the Redis
server's own clock (``TIME``, read inside the script): one clock for the whole fleet, so hosts
whose clocks disagree still count one window. Why a script of our own and not ``limits``' moving
window: see docs/fleet.md (in short: ``limits`` stamps grants with each client's clock before the
round trip, counts whole seconds, and has no pause; the script below is ~40 lines).

Keys (one hash tag, so a Redis Cluster keeps them in one slot)::

    {KEY}:grants   sorted set, member "SEQ:COST", score = grant time (server seconds)
    {KEY}:used     the sum of the costs in the window (a decision reads it, not the set)
    {KEY}:pause    string, the time a server-caused pause ends (expires with it)
    {KEY}:seq      counter that makes members unique

**Redis down** (refused, reset, no answer within ``lock_timeout``): the documented policy is
:class:`RedisFallback`. With a ``fallback_share`` (the default) the process grants from a local
in-memory window of ``share x limit`` queries (at least one), logs a warning once, asks Redis
again at most every :data:`REDIS_RETRY_INTERVAL` seconds, and when Redis answers again copies the
grants it made alone into the shared window (so the fleet's window stays whole) and logs that too.
With ``fallback_share=None`` every request is refused (``RateLimited``, reason
``budget_store_unavailable``, nothing sent). Nothing waits longer than ``lock_timeout`` for Redis,
and no redis exception escapes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from turnmeter.errors import GraphQLErrorDetail, RateLimited, StoreUnavailable
from turnmeter.transport.ratelimit_store import (
    CLIENT_BUDGET_CODE,
    MIN_WAIT,
    MemoryStore,
    Verdict,
    bound_pause,
)
from turnmeter.transport.redis_conn import RedisConnection
from turnmeter.transport.redis_url import RedisURL

if TYPE_CHECKING:
    from turnmeter.transport.ratelimit import RateBudget

_log = logging.getLogger("turnmeter.ratelimit")

#: Seconds a Redis grant stays in the window beyond ``window``: the grant is stamped by the
#: server, and the request leaves after the reply crossed the network, the event loop picked it
#: up and the HTTP request was written. A quarter second covers a GC pause or a busy host; at
#: Cloudflare's 300 s window it costs 0.08% of the budget.
REDIS_GRANT_MARGIN = 0.25
#: Seconds between two attempts to reach Redis again while on the local fallback.
REDIS_RETRY_INTERVAL = 1.0
#: ``extensions.reason`` of the refusal when Redis is down and no fallback is configured.
REASON_UNAVAILABLE = "budget_store_unavailable"

_FORMAT = "local function fmt(x) return string.format('%.6f', x) end\n"
_NOW = """
if redis.replicate_commands then redis.replicate_commands() end
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""
#: KEYS[1] grants, KEYS[4] used. Drops grants at or before ``now - span`` and returns the sum
#: of the costs left, kept in the ``used`` counter so that a decision reads one number instead
#: of the whole window (recounted from the members if the counter is missing or wrong).
_WINDOW = """
local function cost_of(member) return tonumber(string.match(member, ':(%d+)$')) or 1 end
local function keep(span)
  local ms = math.ceil(span * 1000) + 1000
  redis.call('PEXPIRE', KEYS[1], ms)
  redis.call('PEXPIRE', KEYS[4], ms)
end
local function window(span)
  local horizon = fmt(now - span)
  local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', horizon)
  local used = tonumber(redis.call('GET', KEYS[4]))
  if #gone > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', horizon)
    if used then
      for _, member in ipairs(gone) do used = used - cost_of(member) end
    end
  end
  -- A grant stamped after now (a writer with a clock ahead) counts as given now.
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. fmt(now), '+inf')) do
    redis.call('ZADD', KEYS[1], fmt(now), member)
  end
  if not used or used < 0 or (used > 0 and redis.call('EXISTS', KEYS[1]) == 0) then
    used = 0
    for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
      used = used + cost_of(member)
    end
  end
  redis.call('SET', KEYS[4], used)
  return used
end
"""
_PRELUDE = _FORMAT + _NOW + _WINDOW
#: KEYS: grants, pause, seq, used. ARGV: now ('' = the server's clock), cost, limit, span,
#: bound, min_wait.
DECIDE = (
    _PRELUDE
    + """
local cost, limit, span = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local bound, min_wait = tonumber(ARGV[5]), tonumber(ARGV[6])
local used = window(span)
local raw = redis.call('GET', KEYS[2])
if raw then
  local untl = tonumber(raw)
  if not untl or untl ~= untl then
    redis.call('DEL', KEYS[2])
  else
    if untl > now + bound then
      untl = now + bound
      redis.call('SET', KEYS[2], fmt(untl), 'PX', math.ceil(bound * 1000) + 1)
    end
    if now < untl then return {'pause', fmt(untl - now), fmt(untl)} end
  end
end
-- A request that costs nothing (the limits query) is never recorded.
if cost <= 0 then return {'ok', fmt(now), ''} end
if used + cost <= limit then
  local member = redis.call('INCR', KEYS[3]) .. ':' .. cost
  redis.call('ZADD', KEYS[1], fmt(now), member)
  redis.call('SET', KEYS[4], used + cost)
  keep(span)
  return {'ok', fmt(now), member}
end
-- Oldest first, until enough leave; every grant costs at least 1, so no more than this many.
local oldest = redis.call('ZRANGE', KEYS[1], 0, used + cost - limit - 1, 'WITHSCORES')
for i = 1, #oldest, 2 do
  used = used - cost_of(oldest[i])
  if used + cost <= limit then
    local wait = tonumber(oldest[i + 1]) + span - now
    if wait < min_wait then wait = min_wait end
    return {'wait', fmt(wait)}
  end
end
return {'wait', fmt(span)}
"""
)
#: KEYS: grants, pause, seq, used. ARGV: now, member, span, cost. The grant counts from now:
#: its request has been answered (re-added, and counted again, if it already left the window).
RESTAMP = (
    _PRELUDE
    + """
local span = tonumber(ARGV[3])
local used = window(span)
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  redis.call('SET', KEYS[4], used + tonumber(ARGV[4]))
end
redis.call('ZADD', KEYS[1], fmt(now), ARGV[2])
keep(span)
return 1
"""
)
#: KEYS: pause. ARGV: now, seconds (already bounded), bound.
PAUSE = (
    _FORMAT
    + _NOW
    + """
local untl = now + tonumber(ARGV[2])
local bound = tonumber(ARGV[3])
local old = tonumber(redis.call('GET', KEYS[1]))
if old and old == old then
  if old > now + bound then old = now + bound end
  if old > untl then untl = old end
end
if untl > now then
  redis.call('SET', KEYS[1], fmt(untl), 'PX', math.ceil((untl - now) * 1000) + 1)
end
return fmt(untl)
"""
)
#: KEYS: grants, pause, seq, used. ARGV: now, span. The sum of the costs in the window.
COUNT = _PRELUDE + "\nreturn window(tonumber(ARGV[2]))\n"
#: KEYS: grants, pause, seq, used. ARGV: now, span, then (time, cost) pairs: grants made
#: alone while Redis was unreachable.
REPLAY = (
    _PRELUDE
    + """
local span = tonumber(ARGV[2])
local used = window(span)
for i = 3, #ARGV, 2 do
  local at, cost = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  if at > now - span then
    if at > now then at = now end
    redis.call('ZADD', KEYS[1], fmt(at), redis.call('INCR', KEYS[3]) .. ':' .. cost)
    used = used + cost
  end
end
redis.call('SET', KEYS[4], used)
keep(span)
return used
"""
)


def budget_keys(prefix: str) -> tuple[str, str, str, str]:
    """The grants, pause, sequence and used keys of a budget named ``prefix``."""
    tag = "{" + prefix + "}"
    return f"{tag}:grants", f"{tag}:pause", f"{tag}:seq", f"{tag}:used"


def unavailable_refusal(error: StoreUnavailable, retry_after: float) -> RateLimited:
    """Redis is down and no local fallback is configured: nothing was sent."""
    detail = GraphQLErrorDetail(
        message=f"the shared rate budget is unavailable ({error}); nothing was sent",
        extensions={"code": CLIENT_BUDGET_CODE, "reason": REASON_UNAVAILABLE},
    )
    return RateLimited([detail], retry_after=retry_after)


class RedisStore:
    """The window in Redis, with the local fallback of :mod:`the module docstring <.>`.

    Asynchronous (redis-py's asyncio client on the caller's event loop): a decision is one
    round trip, never a thread hop. ``clock`` replaces the server's clock (tests with fixed
    times); by default Redis stamps every grant.
    """

    def __init__(self, budget: RateBudget, clock: Callable[[], float] | None = None) -> None:
        assert budget.limit is not None
        assert budget.url is not None
        self._limit = budget.limit
        self._span = budget.window + REDIS_GRANT_MARGIN
        self._bound = budget.pause_bound
        self._clock = clock
        self._keys = list(budget_keys(budget.redis_key))
        self.redis = RedisConnection(RedisURL.of(budget.url), timeout=budget.lock_timeout)
        self._share = budget.fallback_share
        share_limit = max(1, math.floor(self._limit * (self._share or 0)))
        self._local_budget = dataclasses.replace(budget, limit=share_limit, url=None)
        self._local = MemoryStore(self._local_budget, clock or time.time)
        #: Why Redis is unreachable (None while it answers): the fallback is in force.
        self.down: StoreUnavailable | None = None
        self._retry_at = 0.0
        self._probing = False
        self._pending: set[asyncio.Task[None]] = set()

    @property
    def fallback_limit(self) -> int:
        """The queries per window this process grants alone while Redis is unreachable."""
        return self._local_budget.limit or 1

    def __repr__(self) -> str:
        return f"RedisStore({self.redis.url.shown!r}, key={self._keys[0]!r})"

    async def decide(self, cost: int) -> Verdict:
        """Record ``cost`` in Redis (or, while it is down, in the local share) or say the wait."""
        if self._pending:
            await asyncio.wait(set(self._pending))  # a pause (or re-stamp) goes in first
        if self.down is not None and (self._probing or time.monotonic() < self._retry_at):
            return self._local_decide(cost)
        probing = self._probing = self.down is not None
        try:
            reply = await self.redis.run("decide", DECIDE, self._keys, self._args(cost))
            if self.down is not None:
                await self._came_back()
        except StoreUnavailable as exc:
            self._went_down(exc)
            return self._local_decide(cost)
        finally:
            if probing:
                self._probing = False
        return _verdict(reply)

    def restamp_soon(self, grant: str) -> None:
        """The request of ``grant`` has been answered: count it from now, in the background.

        The grant was stamped by Redis before the reply crossed back and the request was
        written; a process stalled in between (a busy loop, a GC pause, a loaded host) would
        send it later than its stamp says, and the window would free its slot early. Stamped
        again once the answer is in, the slot is held from a moment after the server saw it:
        the window may be a little conservative, never short.
        """
        if self.down is not None:
            return
        cost = grant.rpartition(":")[2]
        args = [self._now_arg(), grant, repr(self._span), cost]
        self._background(self.redis.run("re-stamp a grant", RESTAMP, self._keys, args))

    def _background(self, command: Any) -> None:
        async def run() -> None:
            try:
                await command
            except StoreUnavailable as exc:
                self._went_down(exc)

        try:
            task = asyncio.get_running_loop().create_task(run())
        except RuntimeError:  # no event loop: nothing to send it with
            command.close()
            return
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def pause_soon(self, seconds: float) -> None:
        """Pause every grant, in this process now and in Redis as soon as it is written."""
        bounded = bound_pause(seconds, self._bound)
        self._local.pause_for(bounded)  # without an event loop, only this process pauses
        self._background(self.pause_for(bounded))

    async def pause_for(self, seconds: float) -> None:
        bounded = bound_pause(seconds, self._bound)
        try:
            await self.redis.run(
                "record a pause", PAUSE, self._keys[1:2], self._pause_args(bounded)
            )
        except StoreUnavailable as exc:
            self._went_down(exc)
            self._local.pause_for(bounded)

    async def clear_pause(self) -> None:
        self._local.clear_pause()
        if self.down is not None:
            return
        try:
            await self.redis.call("end a pause", lambda client: client.delete(self._keys[1]))
        except StoreUnavailable as exc:
            self._went_down(exc)

    async def used(self) -> int:
        """Queries counted in the window (the local share's while Redis is down)."""
        if self.down is None:
            try:
                args = [self._now_arg(), repr(self._span)]
                return int(await self.redis.run("count", COUNT, self._keys, args))
            except StoreUnavailable as exc:
                self._went_down(exc)
        return self._local.used()

    async def aclose(self) -> None:
        if self._pending:
            await asyncio.wait(set(self._pending))
        await self.redis.aclose()

    def _args(self, cost: int) -> list[Any]:
        return [
            self._now_arg(),
            cost,
            self._limit,
            repr(self._span),
            repr(self._bound),
            repr(MIN_WAIT),
        ]

    def _pause_args(self, seconds: float) -> list[Any]:
        return [self._now_arg(), repr(seconds), repr(self._bound)]

    def _now_arg(self) -> str:
        return "" if self._clock is None else repr(self._clock())

    def _local_decide(self, cost: int) -> Verdict:
        if self._share is None:
            assert self.down is not None
            raise unavailable_refusal(self.down, REDIS_RETRY_INTERVAL)
        # A request dearer than the whole share counts as the whole share, not as never.
        return self._local.decide(min(cost, self._local_budget.limit or cost))

    def _went_down(self, error: StoreUnavailable) -> None:
        self._retry_at = time.monotonic() + REDIS_RETRY_INTERVAL
        if self.down is None:
            policy = (
                f"granting from a local share of {self._local_budget.limit} queries per "
                f"{self._local_budget.window:g} s"
                if self._share is not None
                else "refusing every request (no fallback_share)"
            )
            _log.warning("shared rate budget unavailable, %s: %s", policy, error)
        self.down = error

    async def _came_back(self) -> None:
        grants = self._local.grants()
        if grants:
            args: list[Any] = [self._now_arg(), repr(self._span)]
            for at, cost in grants:
                args += [repr(at), cost]
            await self.redis.run("take back the local grants", REPLAY, self._keys, args)
        self._local = MemoryStore(self._local_budget, self._clock or time.time)
        self.down = None
        _log.warning(
            "shared rate budget reachable again; %d local grant(s) copied into it", len(grants)
        )


def _verdict(reply: Any) -> Verdict:
    kind = _text(reply[0])
    if kind == "ok":
        return Verdict(0.0, grant=_text(reply[2]) or None)
    wait = max(float(_text(reply[1])), MIN_WAIT)
    if kind == "pause":
        return Verdict(wait, float(_text(reply[2])))
    return Verdict(wait)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
