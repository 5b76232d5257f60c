"""Usage commands: rankings, one subject's breakdown, totals, series, any query, limits."""

from __future__ import annotations

import argparse
from typing import Any

from turnmeter.cli.options import (
    add_connection_options,
    add_filter_options,
    add_output_options,
    add_pricing_options,
    add_range_options,
)

_TOP = {
    "top-keys": ("TURN keys by egress", "turnmeter top-keys --since 7d --limit 5"),
    "top-customers": (
        "custom identifiers (your customers) by egress",
        "turnmeter top-customers --month 2024-07 --format csv -o july.csv",
    ),
    "top-users": (
        "TURN usernames (credentials) by egress, e.g. to catch abuse",
        "turnmeter top-users --since 1h --key 74007022d80d7ebac4815fb776b9d3ed",
    ),
}

#: --every value -> (DSL time dimension, the avg metric measured at that granularity).
GRANULARITIES = {
    "minute": ("minute", "avg_connections_minute"),
    "5m": ("five_minutes", "avg_connections_five_minutes"),
    "15m": ("fifteen_minutes", "avg_connections_fifteen_minutes"),
    "hour": ("hour", "avg_connections_hour"),
    "day": ("date", None),
}


def register(subparsers: Any) -> None:
    for name, (what, example) in _TOP.items():
        parser = _command(subparsers, name, what, f"Rank {what}.", example)
        parser.add_argument("--limit", type=int, default=10, help="rows to show (default 10)")
        parser.set_defaults(handler=_handler("top_report"), top=name)

    _command(
        subparsers,
        "usage",
        "one customer, key or user: egress broken down",
        "Usage of one custom identifier (per key), one key (per customer) or one username "
        "(per key).",
        "turnmeter usage --customer tango --this-month",
    ).set_defaults(handler=_handler("usage_report"))

    _command(
        subparsers,
        "total",
        "egress and ingress over a range, with cost",
        "Total egress and ingress over a range, with its cost at list price.",
        "turnmeter total --this-month --customer tango",
    ).set_defaults(handler=_handler("total_report"))

    series = _command(
        subparsers,
        "series",
        "a time series of egress, ingress and concurrent connections",
        "Egress and ingress per bucket (and average concurrent connections, except per day). "
        "On a terminal a sparkline follows the table.",
        "turnmeter series --today --every 15m --chart today.svg",
    )
    series.add_argument("--every", choices=list(GRANULARITIES), default="hour")
    _dataset_option(series)
    series.set_defaults(handler=_handler("series_report", module="series"))

    query = _command(
        subparsers,
        "query",
        "any grouping, metrics, filters and order (the query DSL)",
        "Group by any dimensions, choose metrics, filter with every operator and order by "
        "anything selected. Wide ranges are split into windows and large results paged.",
        "turnmeter query --dimensions datacenter_country,hour --metrics egress_bytes "
        "--filter 'username like bot-%' --order-by=-egress_bytes --limit 20",
    )
    query.add_argument("--dimensions", default="", help="comma-separated, e.g. key_id,hour")
    query.add_argument("--metrics", default="egress_bytes,ingress_bytes", help="comma-separated")
    query.add_argument(
        "--order-by",
        default="",
        help="comma-separated, '-' for descending; write --order-by=-egress_bytes",
    )
    query.add_argument("--limit", type=int, help="keep the first N rows (default: all)")
    _dataset_option(query)
    query.set_defaults(handler=_handler("query_report", module="series"))

    limits = subparsers.add_parser(
        "limits",
        help="the TURN dataset's node limits for the account",
        description="Widest range, oldest data, largest page: what Cloudflare allows this account.",
        epilog="Example: turnmeter limits --format json",
    )
    add_connection_options(limits)
    add_output_options(limits)
    limits.set_defaults(handler=_handler("limits_report"))


def _dataset_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset",
        choices=("turn", "sfu"),
        default="turn",
        help="TURN's usage (default) or the Realtime SFU's (dimensions app_id, session_id, "
        "track_id, track_type and time; filter it with --filter)",
    )


def _command(
    subparsers: Any, name: str, summary: str, description: str, example: str
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=summary, description=description, epilog=f"Example: {example}"
    )
    add_connection_options(parser)
    add_range_options(parser)
    add_filter_options(parser)
    add_output_options(parser, chart=True)
    add_pricing_options(parser)
    return parser


def _handler(function: str, module: str = "reports") -> Any:
    def run(args: argparse.Namespace) -> int:
        import importlib

        from turnmeter.cli.runner import run_report

        fetch = getattr(importlib.import_module(f"turnmeter.cli.{module}"), function)
        return run_report(args, fetch)

    return run
