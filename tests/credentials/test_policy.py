"""The issue policy against the sandbox: budget refusals, STUN-only, per-customer caps, audit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

import pytest

from tests.usage_data import NOW
from turnmeter import (
    AuthError,
    BudgetGuard,
    ConfigError,
    CredentialRefused,
    CustomerMeter,
    IceTransport,
    IssuePolicy,
    OnRefusal,
    TurnCredentials,
    TurnUsage,
    UnknownUsage,
)
from turnmeter.sandbox import Fault, Sandbox
from turnmeter.transport.retry import NO_RETRY

#: With no free tier this sandbox's month costs about $0.09: these budgets sit either side.
TIGHT, AMPLE = Decimal("0.01"), Decimal(100)


def account_guard(turn: TurnUsage, **options: object) -> BudgetGuard:
    return BudgetGuard(turn, free_tier_gb=0, clock=lambda: NOW, **options)  # type: ignore[arg-type]


def meter(turn: TurnUsage) -> CustomerMeter:
    return CustomerMeter(turn, clock=lambda: NOW)


async def test_over_budget_refuses_and_mints_nothing(
    key_sandbox: Sandbox, analytics: TurnUsage, credentials_for: Callable[..., TurnCredentials]
) -> None:
    guard = account_guard(analytics)
    await guard.refresh()
    policy = IssuePolicy(budget_usd=TIGHT)
    async with credentials_for(guard=guard, policy=policy) as creds:
        with pytest.raises(CredentialRefused, match="over_budget") as caught:
            await creds.issue(custom_identifier="acme", ttl=60)
    assert caught.value.reason == "over_budget"
    assert caught.value.customer == "acme"
    assert caught.value.decision.budget.usage.cost_usd > TIGHT
    assert key_sandbox.state.turn_keys.issued() == []


async def test_over_budget_answers_stun_only_under_that_policy(
    key_sandbox: Sandbox, analytics: TurnUsage, credentials_for: Callable[..., TurnCredentials]
) -> None:
    guard = account_guard(analytics)
    await guard.refresh()
    policy = IssuePolicy(budget_usd=TIGHT, on_refusal=OnRefusal.STUN_ONLY)
    async with credentials_for(guard=guard, policy=policy) as creds:
        servers = await creds.issue(custom_identifier="acme", ttl=60)
    assert servers.stun_only
    assert servers.username is None
    assert servers.transports == {IceTransport.STUN}
    assert servers.to_json() == {
        "iceServers": [{"urls": ["stun:stun.cloudflare.com:3478", "stun:stun.cloudflare.com:53"]}]
    }
    assert servers.decision is not None
    assert servers.decision.reason == "over_budget"
    assert key_sandbox.state.turn_keys.issued() == []


async def test_under_budget_mints(
    key_sandbox: Sandbox, analytics: TurnUsage, credentials_for: Callable[..., TurnCredentials]
) -> None:
    guard = account_guard(analytics)
    async with credentials_for(guard=guard, policy=IssuePolicy(budget_usd=AMPLE)) as creds:
        await guard.refresh()
        servers = await creds.issue(custom_identifier="acme", ttl=60)
    assert servers.decision is not None
    assert servers.decision.reason == "under_budget"
    assert len(key_sandbox.state.turn_keys.issued()) == 1


async def test_one_customer_over_its_cap_is_refused_while_others_are_served(
    key_sandbox: Sandbox, analytics: TurnUsage, credentials_for: Callable[..., TurnCredentials]
) -> None:
    # tango moved about 0.4 GB this month; custom-id-333 as much; newcomer nothing.
    policy = IssuePolicy(budget_usd=AMPLE, customer_caps_gb={"tango": "0.1", "custom-id-333": 10})
    customers = meter(analytics)
    for customer in ("tango", "custom-id-333"):
        await customers.guard_for(customer).refresh()
    guard = account_guard(analytics)
    await guard.refresh()
    async with credentials_for(guard=guard, policy=policy, customers=customers) as creds:
        with pytest.raises(CredentialRefused, match="customer_over_cap") as caught:
            await creds.issue(custom_identifier="tango", ttl=60)
        served = await creds.issue(custom_identifier="custom-id-333", ttl=60)
        uncapped = await creds.issue(custom_identifier="newcomer", ttl=60)
    await customers.close()
    tango = [r.egress_bytes for r in key_sandbox.rows() if r.custom_identifier == "tango"]
    assert caught.value.decision.customer_egress_bytes == sum(tango) > 10**8
    assert caught.value.decision.customer_cap_gb == Decimal("0.1")
    assert served.decision is not None
    assert served.decision.reason == "under_budget"
    assert "is below its cap 10 GB" in served.decision.detail
    assert uncapped.username is not None
    assert [i.custom_identifier for i in key_sandbox.state.turn_keys.issued()] == [
        "custom-id-333",
        "newcomer",
    ]


async def test_a_default_cap_applies_to_every_customer(
    key_sandbox: Sandbox, analytics: TurnUsage, credentials_for: Callable[..., TurnCredentials]
) -> None:
    policy = IssuePolicy(
        default_customer_cap_gb="0.1",
        on_refusal=OnRefusal.STUN_ONLY,
        customer_caps_gb={"tango": 5},
    )
    customers = meter(analytics)
    for customer in ("tango", "custom-id-555"):
        await customers.guard_for(customer).refresh()
    async with credentials_for(policy=policy, customers=customers) as creds:
        capped = await creds.issue(custom_identifier="custom-id-555", ttl=60)
        raised = await creds.issue(custom_identifier="tango", ttl=60)
    await customers.close()
    assert capped.stun_only
    assert capped.decision is not None
    assert capped.decision.reason == "customer_over_cap"
    assert not raised.stun_only


async def test_unknown_usage_follows_the_guards_policy(
    key_sandbox: Sandbox, credentials_for: Callable[..., TurnCredentials]
) -> None:
    # The analytics API is unreachable: the refresh fails, the usage is unknown.
    async with TurnUsage(
        account_tag="abc", api_token="x", endpoint="http://127.0.0.1:9/graphql", retry=NO_RETRY
    ) as broken:
        closed = account_guard(broken)
        opened = account_guard(broken, on_unknown=UnknownUsage.FAIL_OPEN)
        policy = IssuePolicy(budget_usd=AMPLE)
        async with credentials_for(guard=closed, policy=policy) as creds:
            with pytest.raises(CredentialRefused, match="unknown") as caught:
                await creds.issue(ttl=60)
        async with credentials_for(guard=opened, policy=policy) as creds:
            served = await creds.issue(ttl=60)
    assert "TransportError" in caught.value.decision.detail
    assert served.username is not None


async def test_a_slow_analytics_api_is_decided_within_the_deadline(
    key_sandbox: Sandbox, analytics: TurnUsage, credentials_for: Callable[..., TurnCredentials]
) -> None:
    # The sandbox answers GraphQL (and the TURN API) after 0.5 s; the guard decides by 0.02 s.
    key_sandbox.faults.latency = 0.5
    guard = account_guard(analytics, decision_deadline=0.02)
    policy = IssuePolicy(budget_usd=AMPLE, on_refusal=OnRefusal.STUN_ONLY)
    async with credentials_for(guard=guard, policy=policy) as creds:
        servers = await creds.issue(ttl=60)
        assert servers.stun_only
        assert servers.decision is not None
        assert "decision deadline" in servers.decision.detail
        await guard.settled()  # the refresh went on in the background
        key_sandbox.faults.latency = 0.0
        assert not (await creds.issue(ttl=60)).stun_only


async def test_every_decision_is_audited(
    key_sandbox: Sandbox,
    analytics: TurnUsage,
    credentials_for: Callable[..., TurnCredentials],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="turnmeter.credentials")
    policy = IssuePolicy(customer_caps_gb={"tango": "0.1"}, default_customer_cap_gb=None)
    customers = meter(analytics)
    await customers.guard_for("tango").refresh()
    async with credentials_for(policy=policy, customers=customers) as creds:
        servers = await creds.issue(custom_identifier="acme reason=forged", ttl=60)
        with pytest.raises(CredentialRefused):
            await creds.issue(custom_identifier="tango", ttl=60)
        assert servers.username is not None
        await creds.revoke(servers.username)
        key_sandbox.faults.push(Fault.status(401))
        with pytest.raises(AuthError):
            await creds.issue(custom_identifier="acme", ttl=60)
    await customers.close()
    records = [r for r in caplog.records if r.name == "turnmeter.credentials"]
    actions = [r.turnmeter_audit["action"] for r in records]  # type: ignore[attr-defined]
    assert actions == ["issue", "refuse", "revoke", "failed"]
    issued, refused, revoked, failed = (r.getMessage() for r in records)
    assert "reason=AuthError" in failed
    # Quoted: an identifier cannot pass for another field (line breaks are refused outright).
    assert "customer='acme reason=forged' reason=no_guard" in issued
    assert f"username={servers.username!r}" in issued
    assert "reason=customer_over_cap" in refused
    assert refused.count("tango") == 1
    assert records[1].levelno == logging.WARNING
    assert servers.username in revoked


def test_policy_arguments_are_checked() -> None:
    with pytest.raises(ConfigError, match="budget_usd"):
        IssuePolicy(budget_usd=-1)
    with pytest.raises(ConfigError, match="on_refusal"):
        IssuePolicy(on_refusal="stun_only")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="keys"):
        IssuePolicy(customer_caps_gb={"": 1})
    with pytest.raises(ConfigError, match="cap"):
        IssuePolicy(customer_caps_gb={"acme": "lots"})
    assert IssuePolicy(customer_caps_gb={"acme": 1}).cap_gb("other") is None


async def test_a_policy_needs_what_measures_it(analytics: TurnUsage) -> None:
    with pytest.raises(ConfigError, match="guard"):
        TurnCredentials(key_id="k", key_token="t", policy=IssuePolicy(budget_usd=1))
    with pytest.raises(ConfigError, match="needs a budget"):
        TurnCredentials(key_id="k", key_token="t", guard=BudgetGuard(analytics))
    with pytest.raises(ConfigError, match="CustomerMeter"):
        TurnCredentials(key_id="k", key_token="t", policy=IssuePolicy(default_customer_cap_gb=1))
    with pytest.raises(ConfigError, match="max_customers"):
        CustomerMeter(analytics, max_customers=0)


async def test_the_meter_keeps_a_bounded_number_of_guards(analytics: TurnUsage) -> None:
    customers = CustomerMeter(analytics, max_customers=2, clock=lambda: NOW)
    first = customers.guard_for("a")
    customers.guard_for("b")
    assert customers.guard_for("a") is first  # "a" is now the most recent
    customers.guard_for("c")  # drops "b"
    assert customers.guard_for("a") is first
    assert "customers=2" in repr(customers)
    await customers.close()
