"""The demo: the four queries of Cloudflare's TURN analytics page, answered by the sandbox.

Starts a sandbox in-process on a free loopback port, then runs each query through the real
client over HTTP and prints a table per query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rich.console import Console

from turnmeter.cli.render import bar, format_bytes, print_table
from turnmeter.client import TurnUsage
from turnmeter.rows import CustomerKeyUsage, CustomerUsage, KeyUsage, SeriesPoint, UsageTotals

#: The demo's range: the sandbox's default synthetic data covers the last 7 days.
DEMO_DAYS = 7
#: Minutes shown in the time series table.
SERIES_MINUTES = 30


@dataclass(frozen=True, slots=True)
class DemoResults:
    """What the demo fetched, kept for tests and for printing."""

    since: datetime
    until: datetime
    top_keys: list[KeyUsage]
    top_customers: list[CustomerUsage]
    customer: str | None
    customer_usage: list[CustomerKeyUsage]
    series: list[SeriesPoint]
    totals: UsageTotals


async def fetch_demo(turn: TurnUsage, now: datetime) -> DemoResults:
    """Run the four seed queries (and the total) over the demo range."""
    until = now.astimezone(UTC).replace(second=0, microsecond=0)
    since = until - timedelta(days=DEMO_DAYS)
    top_keys = await turn.top_keys(since, until, limit=5)
    top_customers = await turn.top_custom_identifiers(since, until, limit=10)
    customer = top_customers[0].custom_identifier if top_customers else None
    customer_usage = (
        await turn.usage_for_custom_identifier(customer, since, until, limit=100)
        if customer
        else []
    )
    series = await turn.timeseries(until - timedelta(minutes=SERIES_MINUTES), until, limit=100)
    totals = await turn.total(since, until)
    return DemoResults(
        since, until, top_keys, top_customers, customer, customer_usage, series, totals
    )


def print_demo(results: DemoResults, console: Console) -> None:
    """Four tables, one per seed query, with bytes in decimal units."""
    span = f"{results.since:%Y-%m-%d %H:%M} to {results.until:%Y-%m-%d %H:%M} UTC"
    console.print(f"[bold]TURN usage, {span}[/bold] (sandbox data)")
    console.print(
        f"total egress {format_bytes(results.totals.egress_bytes)}, "
        f"ingress {format_bytes(results.totals.ingress_bytes)}\n"
    )
    print_table(
        console,
        "1. Top TURN keys by egress",
        ("key id", "egress", "bytes"),
        ((k.key_id, format_bytes(k.egress_bytes), k.egress_bytes) for k in results.top_keys),
        right_align=(1, 2),
    )
    print_table(
        console,
        "2. Top custom identifiers by egress",
        ("custom identifier", "egress", "bytes"),
        (
            (c.custom_identifier, format_bytes(c.egress_bytes), c.egress_bytes)
            for c in results.top_customers
        ),
        right_align=(1, 2),
    )
    print_table(
        console,
        f"3. Usage for custom identifier {results.customer!r}",
        ("custom identifier", "key id", "egress", "bytes"),
        (
            (u.custom_identifier, u.key_id, format_bytes(u.egress_bytes), u.egress_bytes)
            for u in results.customer_usage
        ),
        right_align=(2, 3),
    )
    largest = max((p.egress_bytes for p in results.series), default=0)
    print_table(
        console,
        f"4. Egress per minute, last {SERIES_MINUTES} minutes",
        ("minute (UTC)", "egress", ""),
        (
            (
                f"{p.minute:%Y-%m-%d %H:%M}",
                format_bytes(p.egress_bytes),
                bar(p.egress_bytes, largest),
            )
            for p in results.series
        ),
        right_align=(1,),
    )


async def run_demo(console: Console) -> DemoResults:
    """Start a sandbox, fetch the demo through the real client, print it."""
    from turnmeter.sandbox import Sandbox

    async with Sandbox() as sandbox:
        config = sandbox.config
        async with TurnUsage(
            account_tag=config.account_tag, api_token=config.token, endpoint=sandbox.url
        ) as turn:
            results = await fetch_demo(turn, config.now or datetime.now(UTC))
    print_demo(results, console)
    return results
