"""The Redis rate budget against a real redis-server: the same semantics as the memory and
SQLite stores (wait or fail fast, bounded pauses, a pause for the whole fleet), the documented
fallback while Redis is unreachable, and the URL's password kept secret."""

from __future__ import annotations

import asyncio
import logging
import math
import pickle
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import CANARY_TOKEN
from tests.fleet.conftest import CANARY_REDIS_PASSWORD, RedisServer
from tests.resilience.conftest import Stack
from tests.resilience.test_hostile_budget import (
    RATE_LIMIT_BODY,
    SINCE,
    HostileServer,
    Scripted,
    assert_is_a_pause,
)
from tests.resilience.test_load import FakeMonotonic
from tests.servers import free_port
from turnmeter import ConfigError, RateLimited, StoreUnavailable, TurnUsage
from turnmeter.settings import resolve_settings
from turnmeter.transport.ratelimit import RateBudget, RateLimiter, RateMode
from turnmeter.transport.ratelimit_redis import REDIS_GRANT_MARGIN, budget_keys
from turnmeter.transport.redis_url import RedisURL

ROOT = Path(__file__).resolve().parents[2]
SPAN = 10 + REDIS_GRANT_MARGIN


def budget(url: str, **options: object) -> RateBudget:
    settings: dict[str, object] = {"limit": 3, "window": 10, "mode": RateMode.FAIL_FAST}
    return RateBudget(url=url, **(settings | options))  # type: ignore[arg-type]


@pytest.fixture
async def limiters() -> AsyncIterator[list[RateLimiter]]:
    """Limiters a test makes; their Redis connections are closed after it."""
    made: list[RateLimiter] = []
    yield made
    for limiter in made:
        await limiter.aclose()


def direct(server: RedisServer) -> redis.Redis:
    return redis.Redis.from_url(server.url)


# -- the same semantics as the other stores -----------------------------------------------


async def test_fail_fast_says_when_a_slot_frees(
    redis_server: RedisServer, limiters: list[RateLimiter]
) -> None:
    clock = FakeMonotonic()
    limiter = RateLimiter(budget(redis_server.url), clock=clock)
    limiters.append(limiter)
    for _ in range(3):
        await limiter.acquire(1)
    with pytest.raises(RateLimited, match="client-side rate budget spent") as refused:
        await limiter.acquire(1)
    assert refused.value.retry_after == pytest.approx(SPAN)
    assert refused.value.status is None
    clock.now += SPAN
    await limiter.acquire(1)  # the oldest grant left the window at that instant
    assert await limiter.used_now() == 1  # the three old ones left together


async def test_processes_share_one_window(
    redis_server: RedisServer, limiters: list[RateLimiter]
) -> None:
    # Two limiters with pools of their own: what two processes on two hosts would have.
    first, second = RateLimiter(budget(redis_server.url)), RateLimiter(budget(redis_server.url))
    limiters += [first, second]
    await first.acquire(2)
    await second.acquire(1)
    with pytest.raises(RateLimited):
        await first.acquire(1)
    assert await second.used_now() == 3


async def test_costs_count_each_node(
    redis_server: RedisServer, limiters: list[RateLimiter]
) -> None:
    limiter = RateLimiter(budget(redis_server.url, limit=5))
    limiters.append(limiter)
    await limiter.acquire(4)
    with pytest.raises(RateLimited):
        await limiter.acquire(2)
    await limiter.acquire(1)
    with pytest.raises(ConfigError, match="can never fit"):
        await limiter.acquire(6)


async def test_wait_mode_waits_within_max_wait(
    redis_server: RedisServer, limiters: list[RateLimiter]
) -> None:
    limiter = RateLimiter(budget(redis_server.url, limit=2, window=0.2, mode=RateMode.WAIT))
    limiters.append(limiter)
    await limiter.acquire(1)
    await limiter.acquire(1)
    await limiter.acquire(1, max_wait=5)  # waited for the window to slide
    await limiter.acquire(1)
    with pytest.raises(RateLimited):
        await limiter.acquire(1, max_wait=0.01)


@pytest.mark.parametrize("seconds", [1e9, math.inf, math.nan, 1e308])
async def test_a_server_pause_holds_the_whole_fleet_and_is_bounded(
    redis_server: RedisServer, limiters: list[RateLimiter], seconds: float
) -> None:
    pauser = RateLimiter(budget(redis_server.url, max_pause=7))
    other = RateLimiter(budget(redis_server.url, max_pause=7))
    limiters += [pauser, other]
    pauser.pause(seconds)
    with pytest.raises(RateLimited) as here:
        await pauser.acquire(1)
    assert_is_a_pause(here.value, 7)
    with pytest.raises(RateLimited) as elsewhere:  # another process: the pause is in Redis
        await other.acquire(1)
    assert_is_a_pause(elsewhere.value, 7)
    ttl = direct(redis_server).pttl(budget_keys("turnmeter:budget")[1])
    assert 0 < ttl <= 7_001  # it leaves Redis with the pause, never later
    await other.server_answered()  # a successful answer anywhere ends it for everyone
    await other.acquire(1)


async def test_cloudflares_budget_depleted_pauses_every_replica(
    stack: Stack, hostile: HostileServer, redis_server: RedisServer
) -> None:
    from tests.usage_data import NOW
    from turnmeter.transport.retry import NO_RETRY

    hostile.script.append(Scripted(429, {"Retry-After": "60"}, RATE_LIMIT_BODY))
    shared = RateBudget(limit=50, window=600, mode=RateMode.FAIL_FAST, url=redis_server.url)
    options = {"endpoint": hostile.url, "rate_budget": shared, "retry": NO_RETRY}
    async with stack.client(**options) as one, stack.client(**options) as two:
        with pytest.raises(RateLimited) as served:
            await one.total(SINCE, NOW)
        assert served.value.status == 429  # Cloudflare's own answer, to the replica that asked
        pause_key = budget_keys("turnmeter:budget")[1]
        for _ in range(200):  # written in the background: a round trip later
            if direct(redis_server).exists(pause_key):
                break
            await asyncio.sleep(0.01)
        with pytest.raises(RateLimited) as refused:  # another replica: nothing sent
            await two.total(SINCE, NOW)
        assert_is_a_pause(refused.value, 600)
        assert refused.value.retry_after is not None
        assert refused.value.retry_after <= 60
    assert hostile.requests == 1


async def test_a_stored_year_9999_or_garbage_pause_is_clamped_or_ignored(
    redis_server: RedisServer, limiters: list[RateLimiter]
) -> None:
    pause_key = budget_keys("turnmeter:budget")[1]
    db = direct(redis_server)
    db.set(pause_key, "253402300799")
    limiter = RateLimiter(budget(redis_server.url))
    limiters.append(limiter)
    with pytest.raises(RateLimited) as refused:
        await limiter.acquire(1)
    assert_is_a_pause(refused.value, limiter.budget.pause_bound)
    stored = float(db.get(pause_key) or 0)
    with pytest.raises(RateLimited):
        await limiter.acquire(1)
    assert float(db.get(pause_key) or 0) == stored  # clamped once, so it ends
    db.set(pause_key, "not a time")
    await limiter.acquire(1)
    assert db.get(pause_key) is None


async def test_a_grant_from_a_clock_in_the_future_cannot_block_the_window(
    redis_server: RedisServer, limiters: list[RateLimiter]
) -> None:
    ahead = RateLimiter(budget(redis_server.url, limit=1), clock=lambda: 1e12)
    clock = FakeMonotonic()
    limiter = RateLimiter(budget(redis_server.url, limit=1), clock=clock)
    limiters += [ahead, limiter]
    await ahead.acquire(1)
    with pytest.raises(RateLimited) as refused:
        await limiter.acquire(1)
    assert refused.value.retry_after is not None
    assert refused.value.retry_after <= SPAN
    clock.now += SPAN
    await limiter.acquire(1)


async def test_a_grant_counts_from_its_answer_not_from_its_stamp(
    redis_server: RedisServer, limiters: list[RateLimiter]
) -> None:
    clock = FakeMonotonic()
    limiter = RateLimiter(budget(redis_server.url, limit=1), clock=clock)
    limiters.append(limiter)
    grant = await limiter.acquire(1)
    clock.now += 4  # the request was stuck in a busy process for 4 s before it went out
    limiter.sent(grant)
    clock.now += SPAN - 1  # the stamp alone would have freed the slot by now
    with pytest.raises(RateLimited) as refused:
        await limiter.acquire(1)
    assert refused.value.retry_after == pytest.approx(1.0)  # 4 s later than its stamp said
    clock.now += 1
    await limiter.acquire(1)


async def test_a_client_with_a_redis_budget_works_end_to_end(
    redis_server: RedisServer, turn: TurnUsage
) -> None:
    from tests.usage_data import NOW

    shared = RateBudget(limit=2, window=60, mode=RateMode.FAIL_FAST, url=redis_server.url)
    async with TurnUsage(settings=turn.settings, rate_budget=shared) as client:
        await client.total(NOW.replace(day=1), NOW)
        limiter = client.transport.limiter
        assert limiter is not None
        assert await limiter.used_now() == 1
        with pytest.raises(ConfigError, match="used_now"):
            limiter.used()


# -- Redis down: the documented fallback, never an unbounded wait or a foreign exception ------


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


async def test_redis_down_falls_back_to_a_local_share_and_says_so(
    limiters: list[RateLimiter], caplog: pytest.LogCaptureFixture
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nobody listens
    limiter = RateLimiter(budget(url, limit=30, fallback_share=0.1))
    limiters.append(limiter)
    for _ in range(3):
        await limiter.acquire(1)  # three: 10% of 30
    with pytest.raises(RateLimited) as refused:
        await limiter.acquire(1)
    assert "this process's share while the shared budget is unreachable" in str(refused.value)
    assert "3 queries per 10 s" in str(refused.value)
    assert limiter.store_down is not None
    assert "could not decide (ConnectionError" in limiter.store_down
    warnings = [r for r in caplog.records if "shared rate budget unavailable" in r.getMessage()]
    assert len(warnings) == 1  # once, when it starts
    assert "granting from a local share of 3 queries per 10 s" in warnings[0].getMessage()


async def test_a_hung_redis_costs_at_most_the_lock_timeout(
    silent_port: int, limiters: list[RateLimiter]
) -> None:
    url = f"redis://127.0.0.1:{silent_port}/0"
    limiter = RateLimiter(budget(url, limit=30, lock_timeout=0.2))
    limiters.append(limiter)
    await limiter.acquire(1)  # from the fallback, once the command timed out
    assert limiter.store_down is not None
    assert "each command is bounded by 0.2 s" in limiter.store_down


async def test_no_fallback_share_refuses_with_a_typed_error(limiters: list[RateLimiter]) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    limiter = RateLimiter(budget(url, fallback_share=None))
    limiters.append(limiter)
    with pytest.raises(RateLimited, match="shared rate budget is unavailable") as refused:
        await limiter.acquire(1)
    assert refused.value.errors[0].extensions["reason"] == "budget_store_unavailable"
    assert refused.value.status is None  # nothing was sent


async def test_grants_made_alone_join_the_window_when_redis_is_back(
    redis_server: RedisServer, limiters: list[RateLimiter], caplog: pytest.LogCaptureFixture
) -> None:
    limiter = RateLimiter(budget(redis_server.url, limit=20, fallback_share=0.25))
    other = RateLimiter(budget(redis_server.url, limit=20))
    limiters += [limiter, other]
    await limiter.acquire(1)
    redis_server.stop()
    for _ in range(5):
        await limiter.acquire(1)  # the local share: 5 of 20
    assert limiter.store_down is not None
    redis_server.start()  # empty: the server lost the window with its memory
    await asyncio.sleep(1.1)  # the fallback asks Redis again after REDIS_RETRY_INTERVAL
    await limiter.acquire(1)
    assert limiter.store_down is None
    assert await other.used_now() == 6  # the five made alone, and the one just now
    assert any("reachable again; 5 local grant" in r.getMessage() for r in caplog.records)


async def test_a_wrong_type_in_redis_is_a_turnmeter_error_not_redis(
    redis_server: RedisServer, limiters: list[RateLimiter]
) -> None:
    direct(redis_server).set(budget_keys("turnmeter:budget")[0], "a string, not a sorted set")
    limiter = RateLimiter(budget(redis_server.url, fallback_share=None))
    limiters.append(limiter)
    with pytest.raises(RateLimited) as refused:
        await limiter.acquire(1)
    assert "ResponseError" in str(refused.value)  # named, never raised as redis' own type
    assert not isinstance(refused.value, redis.RedisError)


# -- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:6379", "starts with redis://"),
        ("redis://", "names no host"),
        ("redis://127.0.0.1:notaport/0", "cannot be read"),
        ("redis://127.0.0.1:6379/zero", "database must be a number"),
        ("unix://", "socket path"),
    ],
)
def test_a_bad_url_is_a_config_error(url: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        RateBudget(url=url)


@pytest.mark.parametrize(
    "changes",
    [
        {"fallback_share": 0},
        {"fallback_share": 1.5},
        {"fallback_share": math.nan},
        {"redis_key": ""},
        {"path": "budget.db"},
    ],
)
def test_bad_redis_options_are_config_errors(changes: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        RateBudget(url="redis://127.0.0.1:6379/0", **changes)  # type: ignore[arg-type]


def test_turnmeter_redis_url_makes_the_default_budget_shared() -> None:
    env = {"CLOUDFLARE_ACCOUNT_ID": "a" * 32, "TURNMETER_REDIS_URL": "redis://10.0.0.5:6379/2"}
    settings = resolve_settings(
        account_tag=None, api_token="t", endpoint="http://127.0.0.1:1/graphql", environ=env
    )
    assert settings.rate_budget.url == RedisURL("redis://10.0.0.5:6379/2")
    assert (
        resolve_settings(
            account_tag="a" * 32, api_token="t", endpoint="http://127.0.0.1:1/graphql", environ={}
        ).rate_budget.url
        is None
    )


def test_without_the_redis_package_the_error_names_the_extra() -> None:
    script = (
        "import sys; sys.modules['redis'] = None\n"
        "from turnmeter import ConfigError, RateBudget, RateLimiter\n"
        "budget = RateBudget(url='redis://127.0.0.1:6379/0')  # configuring needs no redis\n"
        "try:\n"
        "    RateLimiter(budget)\n"
        "except ConfigError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert "pip install 'turnmeter[redis]'" in done.stdout


# -- the URL's password is a secret (CANARY) --------------------------------------------------


async def test_the_redis_password_never_shows(
    redis_with_password: RedisServer,
    limiters: list[RateLimiter],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    good = RateBudget(limit=3, url=redis_with_password.url)
    wrong = budget(
        redis_with_password.url.replace(CANARY_REDIS_PASSWORD, CANARY_REDIS_PASSWORD + "x")
    )
    right, refused = RateLimiter(good), RateLimiter(wrong)
    limiters += [right, refused]
    await right.acquire(1)  # the password works where it goes on the wire
    await refused.acquire(1)  # authentication fails: the fallback grants, the error is ours
    assert refused.store_down is not None
    assert "AuthenticationError" in refused.store_down
    shown = [
        repr(good),
        str(good),
        repr(right),
        repr(right._redis),
        repr(good.url),
        f"{good.url}",
        refused.store_down,
        pickle.loads(pickle.dumps(good)).url.shown,  # type: ignore[union-attr]
    ]
    shown += [r.getMessage() + repr(r.__dict__) for r in caplog.records]
    assert not [text for text in shown if CANARY_REDIS_PASSWORD in text]
    assert "redis://:***@127.0.0.1" in repr(good)
    assert pickle.loads(pickle.dumps(good)) == good  # the secret survives a trip to a worker


def test_a_bad_url_error_never_quotes_the_password() -> None:
    with pytest.raises(ConfigError) as caught:
        RateBudget(url=f"redis://user:{CANARY_REDIS_PASSWORD}@host:6379/notanumber")
    with pytest.raises(ConfigError) as scheme:
        RateBudget(url=f"http://user:{CANARY_REDIS_PASSWORD}@host/?password={CANARY_TOKEN}")
    for error in (caught.value, scheme.value):
        assert CANARY_REDIS_PASSWORD not in f"{error} {error!r}"
        assert CANARY_TOKEN not in f"{error} {error!r}"
    assert "user:***@host" in str(caught.value)


async def test_store_unavailable_is_a_turnmeter_error(limiters: list[RateLimiter]) -> None:
    from turnmeter.transport.redis_conn import RedisConnection

    connection = RedisConnection(RedisURL(f"redis://127.0.0.1:{free_port()}/0"), timeout=0.5)
    with pytest.raises(StoreUnavailable, match="could not ping"):
        await connection.call("ping", lambda client: client.ping())
    await connection.aclose()


@pytest.mark.parametrize("spoil", ["delete", "negative", "garbage"])
async def test_a_lost_or_spoiled_used_counter_is_recounted_from_the_grants(
    redis_server: RedisServer, limiters: list[RateLimiter], spoil: str
) -> None:
    used_key = budget_keys("turnmeter:budget")[3]
    limiter = RateLimiter(budget(redis_server.url, limit=3))
    limiters.append(limiter)
    await limiter.acquire(1)
    await limiter.acquire(1)
    db = direct(redis_server)
    if spoil == "delete":
        db.delete(used_key)
    else:
        db.set(used_key, "-5" if spoil == "negative" else "lots")
    await limiter.acquire(1)  # counted from the two members: one slot was left
    with pytest.raises(RateLimited):
        await limiter.acquire(1)
    assert await limiter.used_now() == 3
