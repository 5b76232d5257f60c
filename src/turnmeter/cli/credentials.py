"""What ``credentials issue`` and ``credentials revoke`` do (imported only when they run)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from turnmeter.budget import BudgetGuard
from turnmeter.cli.context import config_of, open_client, output_stream
from turnmeter.cli.output import write_rows
from turnmeter.cli.reports import pricing_of
from turnmeter.cli.setup_errors import CredentialsError
from turnmeter.client import TurnUsage
from turnmeter.credentials import (
    CustomerMeter,
    IceServers,
    IssuePolicy,
    OnRefusal,
    TurnCredentials,
)
from turnmeter.credentials.ice import transport_of
from turnmeter.errors import BudgetUnknown, ConfigError
from turnmeter.settings import DEFAULT_TIMEOUT

#: The TURN key token ``--sandbox`` sends: never CLOUDFLARE_TURN_KEY_TOKEN (the URL may be
#: anyone's), else the sandbox's default.
ENV_SANDBOX_TURN_KEY_TOKEN = "TURNMETER_SANDBOX_TURN_KEY_TOKEN"
#: The key id ``--sandbox`` uses without ``--key-id`` (the sandbox accepts any).
SANDBOX_KEY_ID = "sandbox"


def issue_command(args: argparse.Namespace) -> int:
    servers = asyncio.run(_issue(args))
    with output_stream(args) as stream:
        if (args.format or config_of(args).get("format")) == "json":
            json.dump(servers.to_json(), stream, indent=2)
            stream.write("\n")
        else:
            write_rows(
                _rows(servers),
                "table",
                stream,
                title=f"ICE servers for {_who(servers.custom_identifier)}, TTL {servers.ttl} s",
                caption=_caption(servers),
            )
            stream.write(_pair(servers))
    if servers.stun_only and servers.decision is not None:
        decision = servers.decision
        print(f"turnmeter: STUN only: {decision.reason} ({decision.detail})", file=sys.stderr)
    return 0


def revoke_command(args: argparse.Namespace) -> int:
    asyncio.run(_revoke(args))
    print(f"revoked {args.username}")
    return 0


async def _issue(args: argparse.Namespace) -> IceServers:
    budget = args.budget if args.budget is not None else config_of(args).get("budget_usd")
    cap = args.customer_cap_gb
    if cap is not None and not args.customer:
        raise ConfigError("--customer-cap-gb needs --customer")
    measured = budget is not None or cap is not None
    policy = IssuePolicy(
        budget_usd=budget,
        on_refusal=OnRefusal.STUN_ONLY if args.over_budget == "stun-only" else OnRefusal.REFUSE,
        customer_caps_gb={args.customer: cap} if cap is not None else None,
    )
    async with _analytics(args, needed=measured) as (turn, now):
        guard = customers = None
        if turn is not None and budget is not None:
            pricing = pricing_of(args)
            guard = BudgetGuard(
                turn,
                price_per_gb=pricing.price_per_gb,
                free_tier_gb=pricing.free_tier_gb,
                clock=lambda: now,
            )
            await _warm(guard)
        if turn is not None and cap is not None:
            customers = CustomerMeter(turn, clock=lambda: now)
            await _warm(customers.guard_for(args.customer))
        try:
            async with _credentials(args, turn, guard, policy, customers) as creds:
                return await creds.issue(custom_identifier=args.customer, ttl=args.ttl)
        finally:
            if customers is not None:
                await customers.close()


async def _revoke(args: argparse.Namespace) -> None:
    async with (
        _analytics(args, needed=False) as (turn, _),
        _credentials(args, turn, None, IssuePolicy(), None) as creds,
    ):
        await creds.revoke(args.username)


async def _warm(guard: BudgetGuard) -> None:
    # One command, one decision: wait for the real number rather than the guard's deadline (a
    # long-running service's guard is warm). Without one the guard's unknown policy decides.
    with contextlib.suppress(BudgetUnknown):
        await guard.refresh()


@contextlib.asynccontextmanager
async def _analytics(
    args: argparse.Namespace, *, needed: bool
) -> AsyncIterator[tuple[TurnUsage | None, datetime]]:
    """The analytics client when the budget needs it, or when ``--sandbox`` names the host."""
    if getattr(args, "verbose", False):
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s", stream=sys.stderr)
    if needed or args.sandbox is not None:
        async with open_client(args) as pair:
            yield pair
        return
    yield None, datetime.now(UTC)


@contextlib.asynccontextmanager
async def _credentials(
    args: argparse.Namespace,
    turn: TurnUsage | None,
    guard: BudgetGuard | None,
    policy: IssuePolicy,
    customers: CustomerMeter | None,
) -> AsyncIterator[TurnCredentials]:
    if args.sandbox is not None:
        from turnmeter.sandbox import SandboxConfig

        assert turn is not None  # opened for --sandbox
        endpoint = args.rtc_endpoint or turn.settings.endpoint.removesuffix("/graphql") + "/v1"
        key_id = args.key_id or SANDBOX_KEY_ID
        token = os.environ.get(ENV_SANDBOX_TURN_KEY_TOKEN) or SandboxConfig().turn_key_token
    else:
        endpoint, key_id, token = args.rtc_endpoint, args.key_id, None
    timeout = args.timeout if args.timeout is not None else config_of(args).get("timeout")
    try:
        creds = TurnCredentials(
            key_id=key_id,
            key_token=token,
            guard=guard,
            policy=policy,
            customers=customers,
            endpoint=endpoint,
            timeout=float(timeout) if timeout is not None else DEFAULT_TIMEOUT,
        )
    except ConfigError as exc:
        # No key id or key token: a credentials problem (exit 4 with its hint), not a bad flag.
        raise CredentialsError(str(exc)) from exc
    async with creds:
        yield creds


def _rows(servers: IceServers) -> list[dict[str, object]]:
    return [
        {"transport": transport_of(url).value, "url": url}
        for server in servers.servers
        for url in server.urls
    ]


def _pair(servers: IceServers) -> str:
    # Printed whole, under the table: a table cell would cut them to the terminal's width.
    turn = next((server for server in servers.servers if server.username), None)
    if turn is None:
        return ""
    return f"username   {turn.username}\ncredential {turn.credential}\n"


def _who(customer: str | None) -> str:
    return f"customer {customer}" if customer else "no custom identifier"


def _caption(servers: IceServers) -> str:
    decision = servers.decision
    why = f"{decision.reason}: {decision.detail}" if decision is not None else "no guard"
    return ("STUN ONLY -- " if servers.stun_only else "") + why
