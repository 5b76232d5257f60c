"""Running a report: open the client, fetch, write the rows, draw the chart."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from turnmeter.cli.context import open_client, output_format, output_stream
from turnmeter.cli.output import write_parquet, write_rows
from turnmeter.cli.render import sparkline
from turnmeter.client import TurnUsage
from turnmeter.errors import ConfigError

if TYPE_CHECKING:
    from turnmeter.cli.chart import ChartSpec


@dataclass(slots=True)
class Report:
    """What a command fetched: rows to write, a title, and how to chart them."""

    title: str
    rows: list[dict[str, Any]]
    caption: str | None = None
    chart: ChartSpec | None = None  # how to chart the rows (None: this report cannot chart)
    chart_rows: list[dict[str, Any]] | None = None  # rows to chart, if not ``rows``
    sparkline: str | None = None  # a value column to draw under the table on a terminal
    columns: tuple[str, ...] = ()  # field names, for a CSV header when there are no rows
    exit_code: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


Fetch = Callable[[argparse.Namespace, TurnUsage, datetime], Awaitable[Report]]


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
        return await fetch(args, client, now)


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
