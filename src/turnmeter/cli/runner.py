"""Running a report: open the client, fetch, write the rows, draw the chart."""

from __future__ import annotations

import argparse
import asyncio

from turnmeter.cli.context import accounts_of, open_client, output_format, output_stream
from turnmeter.cli.output import write_parquet, write_rows
from turnmeter.cli.render import sparkline
from turnmeter.cli.report import Fetch as Fetch  # re-exported: commands import them from here
from turnmeter.cli.report import Report as Report
from turnmeter.cli.several import several_accounts
from turnmeter.client import TurnUsage
from turnmeter.errors import ConfigError


def run_report(args: argparse.Namespace, fetch: Fetch) -> int:
    """Fetch a report with a client for ``args`` and write it; return the exit code."""
    check_chart(args)
    report = fetch_report(args, fetch)
    fmt = output_format(args)
    if fmt == "parquet":
        write_parquet(report.rows, args.output)
        return report.exit_code
    with output_stream(args) as stream:
        write_rows(
            report.rows,
            fmt,
            stream,
            title=report.title,
            caption=report.caption,
            columns=report.columns,
        )
        if report.sparkline and fmt == "table" and stream.isatty():
            stream.write(sparkline([row[report.sparkline] for row in report.rows]) + "\n")
    if getattr(args, "chart", None):
        from turnmeter.cli.chart import draw_chart

        if report.chart is None:
            raise ConfigError(f"{args.command} cannot chart these rows")
        rows = report.rows if report.chart_rows is None else report.chart_rows
        draw_chart(rows, report.chart, path=args.chart, title=report.title)
    return report.exit_code


def check_chart(args: argparse.Namespace) -> None:
    """Refuse ``--chart`` before any query: a file type we cannot write, no matplotlib, or a
    command whose rows have no chart (each command's ``chart_check``)."""
    if not getattr(args, "chart", None):
        return
    from turnmeter.cli.chart import check_chart_path

    check_chart_path(args.chart)
    command_check = getattr(args, "chart_check", None)
    if command_check is not None:
        command_check(args)


def fetch_report(args: argparse.Namespace, fetch: Fetch) -> Report:
    """The report ``fetch`` makes for ``args``, with a client (and a sandbox) opened for it."""
    return asyncio.run(_fetch(args, fetch))


async def _fetch(args: argparse.Namespace, fetch: Fetch) -> Report:
    if getattr(args, "ledger", None):
        return await _fetch_from_ledger(args, fetch)
    async with open_client(args) as (client, now):
        accounts = accounts_of(args)
        if len(accounts) < 2:
            return await fetch(args, client, now)
        return await several_accounts(args, client, now, accounts, fetch)


async def _fetch_from_ledger(args: argparse.Namespace, fetch: Fetch) -> Report:
    # --ledger STORE: no client and no token; the ledger answers what the client would have.
    import sys
    from typing import cast

    from turnmeter.cli.context import reference_time
    from turnmeter.cli.ledger_source import ledger_source

    async with ledger_source(args) as source:
        report = await fetch(args, cast(TurnUsage, source), reference_time(args))
    lines = [f"from the ledger {source.ledger.store.display}", *source.notes]
    report.caption = "; ".join(filter(None, [report.caption, *lines]))
    report.extra["ledger_notes"] = list(source.notes)
    for line in source.notes:
        print(f"turnmeter: ledger: {line}", file=sys.stderr)
    return report
