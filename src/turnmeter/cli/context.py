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
        args._config = load_config(path)
    return args._config  # type: ignore[no-any-return]


def output_format(args: argparse.Namespace) -> str:
    return args.format or config_of(args).get("format") or "table"


@asynccontextmanager
async def open_client(args: argparse.Namespace) -> AsyncIterator[tuple[TurnUsage, datetime]]:
    """A client for the command, and the "now" its ranges are relative to.

    With ``--sandbox`` and no running sandbox, one is started in-process for the command's
    duration; its clock is the command's "now".
    """
    if getattr(args, "verbose", False):
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s", stream=sys.stderr)
    config = config_of(args)
    timeout = args.timeout if args.timeout is not None else config.get("timeout")
    sandbox_url = (
        None if args.sandbox is None else (args.sandbox or os.environ.get(ENV_SANDBOX_URL))
    )
    budget = rate_budget_of(args)
    if args.sandbox is not None and not sandbox_url:
        async with _in_process_sandbox(args, timeout, budget) as pair:
            yield pair
        return
    if sandbox_url:
        from turnmeter.sandbox import SandboxConfig

        defaults = SandboxConfig()
        client = TurnUsage(
            account_tag=args.account or defaults.account_tag,
            api_token=os.environ.get(ENV_SANDBOX_TOKEN) or defaults.token,
            endpoint=sandbox_url,
            timeout=timeout,
            rate_budget=budget,
        )
    else:
        client = TurnUsage(
            account_tag=args.account
            or os.environ.get("CLOUDFLARE_ACCOUNT_ID")
            or config.get("account_tag"),
            endpoint=args.endpoint
            or os.environ.get("TURNMETER_ENDPOINT")
            or config.get("endpoint"),
            timeout=timeout,
            rate_budget=budget,
        )
    async with client:
        yield client, reference_time(args)


@asynccontextmanager
async def _in_process_sandbox(
    args: argparse.Namespace, request_timeout: float | None, budget: RateBudget | None
) -> AsyncIterator[tuple[TurnUsage, datetime]]:
    from turnmeter.sandbox import Sandbox

    async with Sandbox() as sandbox:
        config = sandbox.config
        async with TurnUsage(
            account_tag=config.account_tag,
            api_token=config.token,
            endpoint=sandbox.url,
            timeout=request_timeout,
            rate_budget=budget,
        ) as client:
            yield client, reference_time(args) if args.now else config.now or datetime.now(UTC)


def rate_budget_of(args: argparse.Namespace) -> RateBudget | None:
    """``--redis URL``'s shared budget; None keeps the default (``$TURNMETER_REDIS_URL`` or
    memory)."""
    url = getattr(args, "redis", None)
    return RateBudget(url=url) if url else None


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
