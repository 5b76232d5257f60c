"""The lease (one holder, compare-and-set renewal, expiry) and BudgetGuard in a fleet, in one
process against a real redis-server; the multi-process proofs are in test_fleet_processes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from tests.fleet.conftest import CANARY_REDIS_PASSWORD, RedisServer
from tests.resilience.conftest import Stack
from turnmeter import BudgetGuard, ConfigError, StoreUnavailable, TurnUsage, UnknownUsage
from turnmeter.fleet import Fleet, Lease, RedisDown
from turnmeter.transport.redis_conn import RedisConnection
from turnmeter.transport.redis_url import RedisURL

NAME = "turnmeter:test:lease"


@pytest.fixture
async def connections(redis_server: RedisServer) -> AsyncIterator[list[RedisConnection]]:
    made = [RedisConnection(RedisURL(redis_server.url)) for _ in range(3)]
    yield made
    for connection in made:
        await connection.aclose()


async def test_one_holder_at_a_time(connections: list[RedisConnection]) -> None:
    first, second = (Lease(c, NAME, ttl=5) for c in connections[:2])
    assert await first.hold()
    assert not await second.hold()
    assert second.other_expires_in is not None
    assert 0 < second.other_expires_in <= 5
    assert await first.hold()  # renewed
    await first.release()
    assert await second.hold()  # released: taken at once, not at the end of the ttl
    assert not await first.hold()


async def test_an_expired_lease_is_taken_and_the_old_holder_cannot_renew_it(
    connections: list[RedisConnection],
) -> None:
    crashed, taker = Lease(connections[0], NAME, ttl=0.2), Lease(connections[1], NAME, ttl=5)
    assert await crashed.hold()
    assert not await taker.hold()
    await asyncio.sleep(taker.next_attempt_in(interval=10))  # wakes when the lease expires
    assert await taker.hold()
    assert not await crashed.hold()  # compare-and-set: not ours any more
    await crashed.release()  # nor can it delete the new holder's lease
    assert not await Lease(connections[2], NAME, ttl=5).hold()
    assert taker.held


async def test_a_holder_stalled_past_its_ttl_stops_claiming_it(
    connections: list[RedisConnection],
) -> None:
    lease = Lease(connections[0], NAME, ttl=0.05)
    assert await lease.hold()
    await asyncio.sleep(0.1)
    assert not lease.held


def test_lease_arguments_are_checked(connections: list[RedisConnection]) -> None:
    with pytest.raises(ConfigError):
        Lease(connections[0], "", ttl=1)
    with pytest.raises(ConfigError):
        Lease(connections[0], NAME, ttl=float("nan"))


async def test_redis_down_is_a_store_unavailable_and_the_lease_is_not_held(
    redis_server: RedisServer, connections: list[RedisConnection]
) -> None:
    lease = Lease(connections[0], NAME, ttl=5)
    assert await lease.hold()
    redis_server.stop()
    with pytest.raises(StoreUnavailable):
        await lease.hold()
    assert not lease.held


# -- BudgetGuard with a fleet -------------------------------------------------------------


async def test_two_guards_one_query_the_follower_reads_the_number_and_its_age(
    stack: Stack, redis_server: RedisServer
) -> None:
    fleet = Fleet(redis_server.url, lease_ttl=30)
    async with stack.client() as one, stack.client() as two:
        poller = BudgetGuard(one, fleet=fleet, refresh_interval=60)
        follower = BudgetGuard(two, fleet=fleet, refresh_interval=60)
        first = await poller.check(budget_usd=1000)
        second = await follower.check(budget_usd=1000)
        assert first.reason == second.reason == "under_budget"
        assert first.usage is not None
        assert second.usage is not None
        assert second.usage.egress_bytes == first.usage.egress_bytes
        assert second.usage.as_of == first.usage.as_of
        assert 0 <= second.usage.age < 30  # the holder's age, not "just now" for the follower
        assert (poller.queries, follower.queries) == (1, 0)
        assert stack.proxy.requests == 1
        assert poller.holds_lease
        assert not follower.holds_lease
        await poller.stop()  # releases the lease: the follower polls from its next refresh
        await follower.refresh()
        assert follower.holds_lease
        assert follower.queries == 1
        await follower.stop()


async def test_redis_down_with_policy_unknown_sends_nothing_and_follows_on_unknown(
    stack: Stack, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    redis_server.stop()
    fleet = Fleet(redis_server.url, on_redis_down=RedisDown.UNKNOWN, timeout=0.3)
    async with stack.client() as turn:
        closed = BudgetGuard(turn, fleet=fleet, on_unknown=UnknownUsage.FAIL_CLOSED)
        decision = await closed.check(budget_usd=1000)
        await closed.settled()
        assert not decision.allowed
        assert decision.reason == "unknown"
        assert closed.fleet_down is not None
        assert "StoreUnavailable" in (closed.last_error or "")
        opened = BudgetGuard(turn, fleet=fleet, on_unknown=UnknownUsage.FAIL_OPEN)
        await opened.settled()
        assert (await opened.check(budget_usd=1000)).allowed
        await closed.stop()
        await opened.stop()
    assert stack.proxy.requests == 0
    assert any("policy unknown" in r.getMessage() for r in caplog.records)


async def test_redis_down_with_policy_poll_locally_keeps_a_known_number(
    stack: Stack, redis_server: RedisServer
) -> None:
    redis_server.stop()
    fleet = Fleet(redis_server.url, timeout=0.3)
    async with stack.client() as turn:
        guard = BudgetGuard(turn, fleet=fleet)
        await guard.refresh()
        decision = await guard.check(budget_usd=1000)
        assert decision.reason == "under_budget"
        assert guard.fleet_down is not None
        assert guard.queries == 1
        await guard.stop()
    assert stack.proxy.requests == 1


async def test_the_fleet_password_never_shows(
    stack: Stack, redis_with_password: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fleet = Fleet(redis_with_password.url)
    # Redis refuses the password at once; the timeout only has to outlast a loaded runner.
    wrong = Fleet(redis_with_password.url.replace(CANARY_REDIS_PASSWORD, "nope"), timeout=2.0)
    async with stack.client() as turn:
        guard = BudgetGuard(turn, fleet=fleet)
        refused = BudgetGuard(turn, fleet=wrong)
        await guard.refresh()
        await refused.refresh()
        shown = [repr(guard), repr(fleet), str(fleet), repr(guard._link), refused.fleet_down or ""]
        await guard.stop()
        await refused.stop()
    shown += [r.getMessage() + repr(r.__dict__) for r in caplog.records]
    assert not [text for text in shown if CANARY_REDIS_PASSWORD in text]
    assert "AuthenticationError" in shown[4]


def test_fleet_configuration_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError):
        Fleet("redis://127.0.0.1:6379/0", lease_ttl=0)
    with pytest.raises(ConfigError):
        Fleet("redis://127.0.0.1:6379/0", on_redis_down="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="starts with redis://"):
        Fleet("127.0.0.1:6379")
    monkeypatch.delenv("TURNMETER_REDIS_URL", raising=False)
    assert Fleet.from_env() is None
    monkeypatch.setenv("TURNMETER_REDIS_URL", "redis://10.1.2.3:6379/1")
    found = Fleet.from_env()
    assert found is not None
    assert found.url == RedisURL("redis://10.1.2.3:6379/1")
    assert found.lease_for(60) == 180


async def test_a_guard_needs_a_fleet_not_a_url(stack: Stack) -> None:
    async with stack.client() as turn:
        with pytest.raises(ConfigError, match="must be a Fleet"):
            BudgetGuard(turn, fleet="redis://127.0.0.1:6379/0")  # type: ignore[arg-type]


async def test_guards_of_different_scopes_hold_different_leases(
    stack: Stack, redis_server: RedisServer
) -> None:
    fleet = Fleet(redis_server.url)
    turn: TurnUsage
    async with stack.client() as turn:
        account = BudgetGuard(turn, fleet=fleet)
        customer = BudgetGuard(turn, fleet=fleet, custom_identifier="acme")
        await account.refresh()
        await customer.refresh()
        assert account.holds_lease
        assert customer.holds_lease
        await account.stop()
        await customer.stop()
