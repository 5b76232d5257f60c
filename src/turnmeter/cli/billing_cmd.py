"""Money commands: ``budget`` (month to date against a budget) and ``export`` (billing)."""

from __future__ import annotations

import argparse
from typing import Any

from turnmeter.cli.options import (
    add_budget_options,
    add_command,
    add_connection_options,
    add_filter_options,
    add_ledger_option,
    add_pricing_options,
    add_range_options,
    non_empty,
)


def register(subparsers: Any) -> None:
    budget = add_command(
        subparsers,
        "budget",
        "This UTC month's egress for the account (or one key or customer), what it "
        "costs after the free tier, and how much of the free tier and of --budget is left. "
        "Exits 1 once the cost has reached --budget (the rule BudgetGuard.check follows), so "
        "cron jobs and scripts can act on it.",
        "Example: turnmeter budget --budget 250 || stop-minting-credentials",
    )
    add_connection_options(budget)
    group = budget.add_argument_group("scope (default: the whole account)")
    group.add_argument("--key", dest="key_id", type=non_empty, help="one TURN key")
    group.add_argument(
        "--customer", dest="custom_identifier", type=non_empty, help="one custom identifier"
    )
    add_budget_options(budget)
    add_ledger_option(budget)
    budget.set_defaults(handler=_run("budget_report"))

    export = add_command(
        subparsers,
        "export",
        "One row per custom identifier: egress, ingress, decimal GB and cost at the "
        "list price over the period (default: last calendar month, UTC). The account's free "
        "tier is not split across customers.",
        "Example: turnmeter export --month 2024-07 --format csv -o july.csv",
    )
    add_connection_options(export)
    add_range_options(export)
    add_filter_options(export, skip=("custom_identifier",))
    add_pricing_options(export)
    group = export.add_argument_group("output")
    group.add_argument(
        "--format", choices=("csv", "json", "ndjson", "parquet", "table"), default="csv"
    )
    group.add_argument("-o", "--output", metavar="FILE", help="write to FILE (Parquet needs it)")
    export.add_argument(
        "--per-customer",
        action="store_true",
        help="ask for each customer's total in a query of its own, as Cloudflare advises for "
        "billing (its data is sampled); costs one query per customer against the rate budget",
    )
    add_ledger_option(export)
    export.set_defaults(handler=_run("export_report"), custom_identifier=None, chart=None)


def _run(function: str) -> Any:
    def run(args: argparse.Namespace) -> int:
        from turnmeter.cli import billing
        from turnmeter.cli.runner import run_report

        return run_report(args, getattr(billing, function))

    return run
