"""Turning parsed arguments into a client, a time range and an output stream."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from turnmeter.cli.config import load_config
from turnmeter.client import TurnUsage
from turnmeter.query.timerange import TimeRange, parse_moment, resolve_range
from turnmeter.transport.ratelimit import RateBudget

ENV_SANDBOX_URL = "TURNMETER_SANDBOX_URL"
#: The token ``--sandbox URL`` sends. Never CLOUDFLARE_API_TOKEN: the URL may be anyone's.
ENV_SANDBOX_TOKEN = "TURNMETER_SANDBOX_TOKEN"


def config_of(args: argparse.Namespace) -> dict[str, Any]:
    """The config file's settings (cached on ``args``)."""
    if not hasattr(args, "_config"):
        path = Path(args.config) if getattr(args, "config", None) else None
        from turnmeter.cli.setup_errors import ConfigFileError
        from turnmeter.errors import ConfigError

        try:
            args._config = load_config(path)
        except ConfigError as exc:
            raise ConfigFileError(str(exc)) from exc
    return args._config  # type: ignore[no-any-return]


def output_format(args: argparse.Namespace) -> str:
    return args.format or config_of(args).get("format") or "table"


@asynccontextmanager
async def open_client(args: argparse.Namespace) -> AsyncIterator[tuple[TurnUsage, datetime]]:
    """A client for the command, and the "now" its ranges are relative to.

    With ``--sandbox`` and no running sandbox, one is started in-process for the command's
    duration; its clock is the command's "now". With ``--sandbox URL`` the sandbox's clock
    (its ``X-Sandbox-Now`` header) is the command's "now". ``--now`` overrides both.
    """
    if getattr(args, "verbose", False):
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s", stream=sys.stderr)
        # gql's DSL logs every type it builds (19 lines for one `total`): not what -v is for
        logging.getLogger("gql").setLevel(logging.WARNING)
    config = config_of(args)
    timeout = args.timeout if args.timeout is not None else config.get("timeout")
    sandbox_url = (
        None if args.sandbox is None else (args.sandbox or os.environ.get(ENV_SANDBOX_URL))
    )
    budget = shared_budget(args)
    if args.sandbox is not None and not sandbox_url:
        async with _in_process_sandbox(args, timeout, budget) as pair:
            yield pair
        return
    if sandbox_url:
        from turnmeter.cli.sandbox_probe import probe_sandbox
        from turnmeter.sandbox import SandboxConfig

        defaults = SandboxConfig()
        token = os.environ.get(ENV_SANDBOX_TOKEN) or defaults.token
        facts = await probe_sandbox(sandbox_url, token, timeout)
        args.rate_limit_words = facts.rate_limit
        async with _client(
            account_tag=first_account(args) or defaults.account_tag,
            api_token=token,
            endpoint=sandbox_url,
            timeout=timeout,
            rate_budget=budget,
        ) as client:
            yield client, reference_time(args) if args.now or facts.now is None else facts.now
        return
    client = _client(
        account_tag=first_account(args)
        or os.environ.get("CLOUDFLARE_ACCOUNT_ID")
        or config.get("account_tag"),
        endpoint=args.endpoint or os.environ.get("TURNMETER_ENDPOINT") or config.get("endpoint"),
        timeout=timeout,
        rate_budget=budget,
    )
    async with client:
        yield client, reference_time(args)


def _client(**settings: Any) -> TurnUsage:
    """The client; a setting it refuses (no account, no token) is a :class:`CredentialsError`."""
    from turnmeter.cli.setup_errors import CredentialsError
    from turnmeter.errors import ConfigError

    try:
        return TurnUsage(**settings)
    except ConfigError as exc:
        raise CredentialsError(str(exc)) from exc


@asynccontextmanager
async def _in_process_sandbox(
    args: argparse.Namespace, request_timeout: float | None, budget: RateBudget | None
) -> AsyncIterator[tuple[TurnUsage, datetime]]:
    from turnmeter.cli.sandbox_probe import rate_limit_words
    from turnmeter.sandbox import Sandbox, SandboxConfig

    # With --now the synthetic data is made for that clock, so the same command answers the same
    # numbers on any day (the README's examples are reproducible). Accounts named on the command
    # line are readable accounts of the in-process sandbox, each with synthetic data of its own.
    fixed = reference_time(args) if getattr(args, "now", None) else None
    main = SandboxConfig().account_tag
    others = tuple(tag for tag in dict.fromkeys(args.account or ()) if tag != main)
    async with Sandbox(SandboxConfig(now=fixed, other_accounts=others)) as sandbox:
        config = sandbox.config
        args.rate_limit_words = rate_limit_words(config.rate_limit, config.rate_window)
        async with TurnUsage(
            account_tag=config.account_tag,
            api_token=config.token,
            endpoint=sandbox.url,
            timeout=request_timeout,
            rate_budget=budget,
        ) as client:
            yield client, reference_time(args) if args.now else config.now or datetime.now(UTC)


def shared_budget(args: argparse.Namespace) -> RateBudget | None:
    """Cloudflare's budget shared with other processes: through Redis (``--redis URL``, every
    host) or a file (``--rate-budget-file FILE``, one host); None keeps the client's default
    (``$TURNMETER_REDIS_URL``, else its own memory)."""
    url = getattr(args, "redis", None)
    if url:
        return RateBudget(url=url)
    path = getattr(args, "rate_budget_file", None)
    return RateBudget(path=path) if path else None


def accounts_of(args: argparse.Namespace) -> list[str]:
    """The ``--account`` tags, each once, in order (empty: the default account)."""
    return list(dict.fromkeys(getattr(args, "account", None) or ()))


def first_account(args: argparse.Namespace) -> str | None:
    """The client's own account: the first ``--account``, if any."""
    accounts = accounts_of(args)
    return accounts[0] if accounts else None


def reference_time(args: argparse.Namespace) -> datetime:
    """``--now`` if given, else the clock."""
    clock = datetime.now(UTC)
    return parse_moment(args.now, clock, name="--now") if getattr(args, "now", None) else clock


def time_range_of(args: argparse.Namespace, now: datetime) -> TimeRange:
    return resolve_range(
        now,
        since=args.since,
        until=args.until,
        month=args.month,
        today=args.today,
        this_month=args.this_month,
    )


@contextmanager
def output_stream(args: argparse.Namespace) -> Iterator[IO[str]]:
    """``--output FILE`` or stdout."""
    if not getattr(args, "output", None):
        yield sys.stdout
        return
    with open(args.output, "w", encoding="utf-8", newline="") as stream:
        yield stream
