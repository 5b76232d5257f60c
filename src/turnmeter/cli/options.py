"""Option groups shared by the usage commands (argparse only: nothing heavy at parse time)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from turnmeter.cli import COMMANDS

FORMATS = ("table", "json", "csv", "ndjson")


def non_empty(text: str) -> str:
    """An argparse ``type=``: the library refuses empty filter values, so refuse them here."""
    if not text:
        # An empty value would otherwise filter on "" and answer with an empty table.
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse ``type=``: an integer no smaller than ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def decimal_of(what: str) -> Callable[[str], Decimal]:
    """An argparse ``type=``: a non-negative Decimal straight from the text, never through a
    float (a budget typed as the exact cost must compare equal to it)."""

    def parse(text: str) -> Decimal:
        from turnmeter.errors import ConfigError
        from turnmeter.pricing import as_decimal

        try:
            return as_decimal(text, what)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def seconds(text: str) -> float:
    """An argparse ``type=``: a finite, non-negative number of seconds."""
    return _seconds(text, positive=False)


def positive_seconds(text: str) -> float:
    """An argparse ``type=``: a finite number of seconds above zero."""
    return _seconds(text, positive=True)


def _seconds(text: str, *, positive: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    # nan compares false with everything, so it would pass a plain `value < 0` check.
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds {bound}, got {text}")
    return value


def command_help(name: str) -> str:
    """The top-level command's one-line help, from :data:`turnmeter.cli.COMMANDS` (the table
    ``turnmeter --help`` lists without building any parser)."""
    return next(command.help for command in COMMANDS if command.name == name)


def add_command(
    subparsers: Any, name: str, description: str, epilog: str
) -> argparse.ArgumentParser:
    """Add the top-level command ``name`` with its :func:`command_help`."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=command_help(name), description=description, epilog=epilog
    )
    return parser


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--account",
        action="append",
        type=non_empty,
        metavar="TAG",
        help="account tag (default: $CLOUDFLARE_ACCOUNT_ID); repeat for several accounts: "
        "one row set each, an account column, and the missing ones named",
    )
    group.add_argument("--endpoint", help="GraphQL endpoint (default: Cloudflare's)")
    group.add_argument(
        "--sandbox",
        nargs="?",
        const="",
        metavar="URL",
        help="use a local sandbox: $TURNMETER_SANDBOX_URL or URL if given, else one started "
        "in-process with synthetic data",
    )
    group.add_argument("--config", metavar="FILE", help="TOML config file (never holds tokens)")
    group.add_argument(
        "--redis",
        metavar="URL",
        help="share the rate budget with every process through Redis (default: "
        "$TURNMETER_REDIS_URL; put a URL with a password there: a command line is visible "
        "to other users)",
    )
    group.add_argument("--timeout", type=positive_seconds, help="seconds per request")
    group.add_argument(
        "--now",
        metavar="TIME",
        help="the time relative ranges count from (ISO 8601, UTC; default: the clock) -- for "
        "reproducible reports and fixed-clock sandboxes",
    )
    group.add_argument(
        "-v", "--verbose", action="store_true", help="log requests to stderr (never the token)"
    )


def add_range_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("time range (UTC; default: the last 7 days)")
    group.add_argument("--since", help="start: 7d, 12h, 30m, 2w, 2024-07-15 or an ISO time")
    group.add_argument("--until", help="end (exclusive), same forms; default now")
    group.add_argument("--month", help="a calendar month, e.g. 2024-07")
    group.add_argument("--today", action="store_true", help="since 00:00 UTC today")
    group.add_argument("--this-month", action="store_true", help="since the 1st of this month")
    group.add_argument(
        "--clip",
        action="store_true",
        help="when --since is older than the account may query, start at its oldest data "
        "instead of refusing",
    )


def add_filter_options(parser: argparse.ArgumentParser, *, skip: tuple[str, ...] = ()) -> None:
    group = parser.add_argument_group("filters (repeat a flag for several values)")
    for flag, dest, what in (
        ("--key", "key_id", "TURN key id"),
        ("--user", "username", "TURN username (credential)"),
        ("--customer", "custom_identifier", "custom identifier"),
        ("--datacenter", "datacenter", "datacenter code, e.g. FRA"),
        ("--country", "country", "datacenter country, e.g. DE"),
        ("--region", "region", "datacenter region, e.g. WEUR"),
    ):
        if dest not in skip:
            group.add_argument(
                flag, dest=dest, action="append", type=non_empty, metavar="VALUE", help=what
            )
    group.add_argument(
        "--filter",
        action="append",
        metavar="EXPR",
        help="FIELD OP VALUE with OP one of = != < <= > >= in notin like notlike, "
        "e.g. 'username like bot-%%' or 'datacenter_country in DE,FR'",
    )


def add_pricing_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("pricing (default: Cloudflare's list price)")
    group.add_argument("--price-per-gb", type=float, metavar="USD", help="default 0.05")
    group.add_argument("--free-tier-gb", type=float, metavar="GB", help="monthly, default 1000")


def add_budget_options(parser: argparse.ArgumentParser) -> None:
    """``--budget`` (monthly, in dollars), then the pricing and the output options."""
    parser.add_argument(
        "--budget", type=decimal_of("the budget"), metavar="USD", help="monthly budget in dollars"
    )
    add_pricing_options(parser)
    add_output_options(parser)


def add_output_options(parser: argparse.ArgumentParser, *, chart: bool = False) -> None:
    group = parser.add_argument_group("output")
    group.add_argument("--format", choices=FORMATS, help="default: table (or the config file's)")
    group.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    if chart:
        group.add_argument("--chart", metavar="FILE", help="also draw a chart (.png or .svg)")


def filters_from(args: argparse.Namespace) -> dict[str, Any]:
    """The FilterArgs given on the command line."""
    names = ("key_id", "username", "custom_identifier", "datacenter", "country", "region")
    return {name: getattr(args, name) for name in names if getattr(args, name, None)}


def add_ledger_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ledger",
        metavar="STORE",
        help="answer from the usage ledger (sqlite:///PATH or postgresql://...) that "
        "`turnmeter sync` fills, instead of Cloudflare: any range it covers, however old",
    )
