"""One command over several ``--account`` tags: one report, an account column, the missing named.

Every account is asked the same question through :func:`turnmeter.accounts.across_accounts`
(one session and one rate budget: the token's). The rows of the accounts that answered are
written together, each with its ``account`` first. An account that failed does not fail the
others, and the answer is never silently partial: the missing accounts and why are printed to
stderr and in the table's caption, and the exit code is :data:`ExitCode.PARTIAL` (or the
first report's own code, e.g. over budget, when every account answered).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from turnmeter.accounts import ACCOUNT_COLUMN, across_accounts
from turnmeter.cli.exit_codes import ExitCode
from turnmeter.cli.output import as_record
from turnmeter.cli.report import Fetch, Report
from turnmeter.client import TurnUsage


async def several_accounts(
    args: argparse.Namespace,
    client: TurnUsage,
    now: datetime,
    accounts: list[str],
    fetch: Fetch,
) -> Report:
    """The reports of ``accounts`` as one."""
    # One account at a time: each report may itself run windows in parallel, and the
    # progress bars of several accounts would overwrite each other.
    answer = await across_accounts(
        client, accounts, lambda account: fetch(args, account, now), concurrency=1
    )
    reports = answer.values
    if not reports:  # nobody answered: that is a failure, with the first account's error
        error = answer.results[0].error
        assert error is not None
        raise error
    first = next(iter(reports.values()), None)
    rows = [
        {ACCOUNT_COLUMN: tag, **as_record(row)}
        for tag, report in reports.items()
        for row in report.rows
    ]
    captions = {tag: report.caption for tag, report in reports.items() if report.caption}
    caption = f"{len(reports)} of {len(accounts)} accounts"
    if len(set(captions.values())) == 1:
        caption += f"; {next(iter(captions.values()))}"
    else:  # captions that hold figures (a range total) are each account's own
        caption += "".join(f"; {tag}: {text}" for tag, text in captions.items())
    exit_code = max((report.exit_code for report in reports.values()), default=0)
    if not answer.complete:
        missing = answer.describe_missing()
        print(f"turnmeter: {missing}", file=sys.stderr)
        caption += f" -- {missing.upper()[:1]}{missing[1:]}"
        exit_code = int(ExitCode.PARTIAL)
    return Report(
        title=(first.title if first is not None else "No account answered") + " (by account)",
        rows=rows,
        caption=caption,
        chart=None,
        columns=(ACCOUNT_COLUMN, *(first.columns if first is not None else ())),
        exit_code=exit_code,
    )
