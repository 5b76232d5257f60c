"""``turnmeter sandbox serve|seed``: run the local Cloudflare-faithful TURN analytics server.

Only argparse at import time; the handlers import aiohttp and the sandbox when they run.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from turnmeter.cli.exit_codes import ExitCode
from turnmeter.cli.options import add_command, at_least, positive_seconds, seconds

DEFAULT_PORT = 8787
DEFAULT_HOST = "127.0.0.1"


def register(subparsers: Any) -> None:
    """Add ``sandbox`` with its ``serve`` and ``seed`` subcommands."""
    sandbox = add_command(
        subparsers,
        "sandbox",
        "A local, Cloudflare-faithful GraphQL server for TURN usage (no account "
        "needed): point your own code or tests at it.",
        "Example: turnmeter sandbox serve --port 8787",
    )
    commands = sandbox.add_subparsers(dest="sandbox_command", metavar="SUBCOMMAND")
    _register_serve(commands)
    _register_seed(commands)
    sandbox.set_defaults(handler=lambda _args: _help(sandbox))


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return int(ExitCode.USAGE)


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO time: {text!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _data_options(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("synthetic data")
    data.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    data.add_argument("--days", type=at_least(1), default=7, help="days of traffic before now (7)")
    data.add_argument("--keys", type=at_least(1), default=3, help="TURN keys (3)")
    data.add_argument("--customers", type=at_least(0), default=40, help="custom identifiers (40)")
    data.add_argument(
        "--now", type=_timestamp, metavar="ISO", help="fixed sandbox clock, e.g. 2025-06-01T00:00Z"
    )


def _register_serve(commands: Any) -> None:
    parser = commands.add_parser(
        "serve",
        help="serve the sandbox over HTTP until interrupted",
        epilog="Examples: turnmeter sandbox serve --port 8787;  "
        "turnmeter sandbox serve --data usage.sqlite --fault 503 --fault reset;  "
        "turnmeter sandbox serve --error-status always-200 --rate-limit 10",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"bind address ({DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT})")
    parser.add_argument(
        "--data",
        type=Path,
        metavar="FILE",
        help="a database from `sandbox seed`, or rows in .csv/.ndjson (default: synthetic)",
    )
    parser.add_argument("--token", help="Bearer token to accept (default: the sandbox token)")
    parser.add_argument("--account-tag", metavar="TAG", help="the main account tag")
    parser.add_argument(
        "--other-account",
        action="append",
        default=[],
        metavar="TAG",
        help="a further account the token may read, with synthetic data of its own (repeatable)",
    )
    parser.add_argument(
        "--forbidden-account",
        action="append",
        default=[],
        metavar="TAG",
        help="an account the token may not read: 403 not authorized (repeatable)",
    )
    _data_options(parser)
    limits = parser.add_argument_group("node limits (Cloudflare's defaults)")
    limits.add_argument("--max-page-size", type=int, default=10_000, metavar="N")
    limits.add_argument("--max-duration", type=int, default=31 * 86400, metavar="SECONDS")
    limits.add_argument("--not-older-than", type=int, default=92 * 86400, metavar="SECONDS")
    limits.add_argument("--max-fields", type=int, default=30, metavar="N")
    behaviour = parser.add_argument_group("behaviour")
    behaviour.add_argument(
        "--rate-limit", type=int, default=300, metavar="N", help="queries per window; 0 = off"
    )
    behaviour.add_argument("--rate-window", type=positive_seconds, default=300.0, metavar="SECONDS")
    behaviour.add_argument(
        "--error-status", choices=("documented", "always-200"), default="documented"
    )
    behaviour.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="queue a fault for the next request (repeatable, in order): 503, status:500, "
        "reset, truncated, html, not_json, delay:0.5, error:MESSAGE",
    )
    behaviour.add_argument(
        "--latency", type=seconds, default=0.0, metavar="SECONDS", help="delay every request"
    )
    parser.set_defaults(handler=_serve)


def _register_seed(commands: Any) -> None:
    parser = commands.add_parser(
        "seed",
        help="write synthetic (or your CSV/NDJSON) usage rows to a SQLite file",
        epilog="Examples: turnmeter sandbox seed --out usage.sqlite --days 30 --customers 500;  "
        "turnmeter sandbox seed --out usage.sqlite --from my-rows.csv",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="FILE")
    parser.add_argument(
        "--from", dest="source", type=Path, metavar="FILE", help="load rows from .csv/.ndjson"
    )
    _data_options(parser)
    parser.set_defaults(handler=_seed)


def _config(args: argparse.Namespace) -> Any:
    from turnmeter.sandbox import NodeLimits, SandboxConfig

    defaults = SandboxConfig()
    return SandboxConfig(
        token=args.token or defaults.token,
        account_tag=args.account_tag or defaults.account_tag,
        limits=NodeLimits(
            max_duration=args.max_duration,
            not_older_than=args.not_older_than,
            max_page_size=args.max_page_size,
            max_number_of_fields=args.max_fields,
        ),
        now=args.now,
        database=args.data,
        seed=args.seed,
        days=args.days,
        keys=args.keys,
        customers=args.customers,
        error_status=args.error_status,
        rate_limit=args.rate_limit or None,
        rate_window=args.rate_window,
        other_accounts=tuple(getattr(args, "other_account", ())),
        forbidden_accounts=tuple(getattr(args, "forbidden_account", ())),
    )


def _serve(args: argparse.Namespace) -> int:
    from turnmeter.sandbox import build_app
    from turnmeter.sandbox.app import STATE_KEY
    from turnmeter.sandbox.faults import parse_fault_spec
    from turnmeter.sandbox.server import run_app

    try:
        faults = [parse_fault_spec(spec) for spec in args.fault]
    except ValueError as exc:
        print(f"turnmeter: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE)
    app = build_app(_config(args))
    state = app[STATE_KEY]
    state.faults.push(*faults)
    state.faults.latency = args.latency
    url = f"http://{args.host}:{args.port}/graphql"
    clock = state.config.now.isoformat() if state.config.now else "real time"
    print(
        f"turnmeter sandbox: {url}  ({state.store.count():,} rows, clock {clock})\n"
        f"  account tag: {state.config.account_tag}"
        + "".join(f", {tag}" for tag in state.config.other_accounts)
        + "".join(f", {tag} (forbidden)" for tag in state.config.forbidden_accounts)
        + "\n"
        f"  token: {'as given by --token' if args.token else 'the default sandbox token'}\n"
        f"  TURN key API: http://{args.host}:{args.port}/v1 (bearer: the default TURN key "
        "token, see docs/sandbox.md)\n"
        f"  try: turnmeter limits --sandbox {url}   (Ctrl-C stops)",
        flush=True,
    )
    # The sandbox's own runner: requests aiohttp cannot even parse get JSON answers too.
    run_app(app, host=args.host, port=args.port)
    return int(ExitCode.OK)


def _seed(args: argparse.Namespace) -> int:
    from turnmeter.sandbox.loaders import read_rows
    from turnmeter.sandbox.server import CLOCK_META, seed_database
    from turnmeter.sandbox.store import UsageStore
    from turnmeter.sandbox.synthetic import TrafficSpec

    now = args.now or datetime.now(UTC).replace(second=0, microsecond=0)
    if args.source is not None:
        store = UsageStore.create(read_rows(args.source), args.out)
        store.set_meta(CLOCK_META, now.isoformat())
        count = store.count()
        store.close()
    else:
        spec = TrafficSpec(now, args.seed, args.days, args.keys, args.customers)
        count = seed_database(args.out, spec)
    print(f"wrote {count:,} rows to {args.out} (clock {now.isoformat()})")
    print(f"serve it: turnmeter sandbox serve --data {args.out}")
    return int(ExitCode.OK)
