"""Usage commands: rankings, one subject's breakdown, totals, series, any query, limits."""

from __future__ import annotations

import argparse
from typing import Any

from turnmeter.cli.buckets import EVERY
from turnmeter.cli.options import (
    add_command,
    add_connection_options,
    add_filter_options,
    add_ledger_option,
    add_output_options,
    add_pricing_options,
    add_range_options,
    at_least,
    command_help,
)

#: The rankings and an example of each (what each ranks is its help line in COMMANDS).
_TOP = {
    "top-keys": "turnmeter top-keys --since 7d --limit 5",
    "top-customers": "turnmeter top-customers --month 2024-07 --format csv -o july.csv",
    "top-users": "turnmeter top-users --since 1h --key 74007022d80d7ebac4815fb776b9d3ed",
}


def register(subparsers: Any) -> None:
    for name, example in _TOP.items():
        parser = _command(subparsers, name, f"Rank {command_help(name)}.", example)
        parser.add_argument(
            "--limit",
            type=at_least(0),
            default=10,
            help="rows to show (default 10; 0 for every row)",
        )
        parser.set_defaults(handler=_handler("top_report"), top=name)

    _command(
        subparsers,
        "usage",
        "Usage of one custom identifier (per key), one key (per customer) or one username "
        "(per key).",
        "turnmeter usage --customer tango --this-month",
    ).set_defaults(handler=_handler("usage_report"))

    _command(
        subparsers,
        "total",
        "Total egress and ingress over a range, with its cost at list price.",
        "turnmeter total --this-month --customer tango",
        chart=False,  # one row: nothing to chart
    ).set_defaults(handler=_handler("total_report"))

    series = _command(
        subparsers,
        "series",
        "Egress and ingress per bucket, and the connections open (the mean number open at once "
        "during the bucket; not per day). Every bucket of the range is shown: those without "
        "traffic as 0, and those the range cuts marked partial. On a terminal a sparkline "
        "follows the table.",
        "turnmeter series --today --every 15m --chart today.svg",
    )
    series.add_argument("--every", choices=list(EVERY), default="hour")
    series.add_argument(
        "--skip-empty",
        action="store_true",
        help="leave out buckets without traffic (the chart still shows them as gaps)",
    )
    series.add_argument(
        "--chart-connections",
        action="store_true",
        help="also draw the connections open on the chart's second axis",
    )
    _dataset_option(series)
    series.set_defaults(handler=_handler("series_report", module="series"))

    query = _command(
        subparsers,
        "query",
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
    query.add_argument(
        "--limit", type=at_least(0), help="keep the first N rows (default, or 0: every row)"
    )
    _dataset_option(query)
    query.set_defaults(handler=_handler("query_report", module="series"), chart_check=_query_chart)

    limits = add_command(
        subparsers,
        "limits",
        "Widest range, oldest data, largest page: what Cloudflare allows this account.",
        "Example: turnmeter limits --format json",
    )
    add_connection_options(limits)
    add_output_options(limits)
    limits.set_defaults(handler=_handler("limits_report"))


def _query_chart(args: argparse.Namespace) -> None:
    from turnmeter.cli.series import query_chart_check

    query_chart_check(args)


def _dataset_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset",
        choices=("turn", "sfu"),
        default="turn",
        help="TURN's usage (default) or the Realtime SFU's (dimensions app_id, session_id, "
        "track_id, track_type and time; filter it with --filter)",
    )


def _command(
    subparsers: Any,
    name: str,
    description: str,
    example: str,
    *,
    chart: bool = True,
) -> argparse.ArgumentParser:
    parser = add_command(subparsers, name, description, f"Example: {example}")
    add_connection_options(parser)
    add_range_options(parser)
    add_filter_options(parser)
    add_output_options(parser, chart=chart)
    add_pricing_options(parser)
    add_ledger_option(parser)
    return parser


class _Handler:
    """Runs one report function, imported only when the command runs (``--help`` stays fast)."""

    def __init__(self, function: str, module: str) -> None:
        self.function, self.module = function, module

    def fetch(self) -> Any:
        """The report function (``fetch(args, client, now) -> Report``)."""
        import importlib

        return getattr(importlib.import_module(f"turnmeter.cli.{self.module}"), self.function)

    def __call__(self, args: argparse.Namespace) -> int:
        from turnmeter.cli.runner import run_report

        return run_report(args, self.fetch())


def _handler(function: str, module: str = "reports") -> Any:
    return _Handler(function, module)
