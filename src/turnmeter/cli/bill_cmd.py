"""``turnmeter bill``: the account's whole Realtime bill, TURN and SFU, month to date."""

from __future__ import annotations

import argparse
from typing import Any

from turnmeter.cli.options import (
    add_budget_options,
    add_command,
    add_connection_options,
)


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "bill",
        "This UTC month's egress for TURN and the Realtime SFU, which share one "
        "free tier and one bill line. TURN traffic to and from the SFU is not charged twice, "
        "and analytics cannot tell which TURN bytes those were: the billed egress is shown "
        "between a lower and an upper bound, with the cost at each. Exits 1 once the cost at "
        "the upper bound has reached --budget (what BudgetGuard(include_sfu=True) decides on).",
        "Example: turnmeter bill --budget 250 --account A --account B",
    )
    add_connection_options(parser)
    parser.add_argument("--month", help="a whole past month (YYYY-MM) instead of this one")
    add_budget_options(parser)
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from turnmeter.cli.bill import bill_report
    from turnmeter.cli.runner import run_report

    return run_report(args, bill_report)
