"""Usage commands: top-keys, top-customers, usage, total, limits, series."""

from __future__ import annotations

import argparse
from typing import Any

from turnmeter.cli.options import (
    add_connection_options,
    add_filter_options,
    add_output_options,
    add_range_options,
)

_TOP = {
    "top-keys": ("TURN keys by egress", "turnmeter top-keys --since 7d --limit 5"),
    "top-customers": (
        "custom identifiers (your customers) by egress",
        "turnmeter top-customers --month 2024-07 --format csv -o july.csv",
    ),
}


def register(subparsers: Any) -> None:
    for name, (what, example) in _TOP.items():
        parser = subparsers.add_parser(
            name, help=f"{what}", description=f"Rank {what}.", epilog=f"Example: {example}"
        )
        _common(parser)
        parser.add_argument("--limit", type=int, default=10, help="rows to show (default 10)")
        parser.set_defaults(handler=_run_top, top=name)

    usage = subparsers.add_parser(
        "usage",
        help="one customer, key or user: egress broken down",
        description="Usage of one custom identifier (per key), one key (per customer) or one "
        "username (per key).",
        epilog="Example: turnmeter usage --customer tango --this-month",
    )
    _common(usage)
    usage.set_defaults(handler=_run_usage)

    total = subparsers.add_parser(
        "total",
        help="egress and ingress over a range, with cost",
        description="Total egress and ingress over a range, with its cost at list price.",
        epilog="Example: turnmeter total --this-month --customer tango",
    )
    _common(total)
    total.set_defaults(handler=_run_total)

    limits = subparsers.add_parser(
        "limits",
        help="the TURN dataset's node limits for the account",
        description="Widest range, oldest data, largest page: what Cloudflare allows this account.",
        epilog="Example: turnmeter limits --format json",
    )
    add_connection_options(limits)
    add_output_options(limits)
    limits.set_defaults(handler=_run_limits)


def _common(parser: argparse.ArgumentParser) -> None:
    add_connection_options(parser)
    add_range_options(parser)
    add_filter_options(parser)
    add_output_options(parser, chart=True)


def _run_top(args: argparse.Namespace) -> int:
    from turnmeter.cli.reports import top_report
    from turnmeter.cli.runner import run_report

    return run_report(args, top_report)


def _run_usage(args: argparse.Namespace) -> int:
    from turnmeter.cli.reports import usage_report
    from turnmeter.cli.runner import run_report

    return run_report(args, usage_report)


def _run_total(args: argparse.Namespace) -> int:
    from turnmeter.cli.reports import total_report
    from turnmeter.cli.runner import run_report

    return run_report(args, total_report)


def _run_limits(args: argparse.Namespace) -> int:
    from turnmeter.cli.reports import limits_report
    from turnmeter.cli.runner import run_report

    return run_report(args, limits_report)
