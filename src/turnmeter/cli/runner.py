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


def run_report(args: argparse.Namespace, fetch: Fetch) -> int:
    """Fetch a report with a client for ``args`` and write it; return the exit code."""
    report = asyncio.run(_fetch(args, fetch))
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
    if getattr(args, "chart", None) and report.chart:
        from turnmeter.cli.chart import draw_chart

        draw_chart(report.rows, *report.chart, path=args.chart, title=report.title)
    return report.exit_code


async def _fetch(args: argparse.Namespace, fetch: Fetch) -> Report:
    async with open_client(args) as (client, now):
        accounts = accounts_of(args)
        if len(accounts) < 2:
            return await fetch(args, client, now)
        return await several_accounts(args, client, now, accounts, fetch)
