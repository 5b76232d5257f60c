"""``turnmeter demo``: the four TURN analytics queries against an in-process sandbox."""

from __future__ import annotations

import argparse
from typing import Any

from turnmeter.cli.options import add_command


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "demo",
        (
            "Starts a sandbox on a free loopback port, runs the four queries of Cloudflare's TURN "
            "analytics page through the typed client over HTTP, and prints a table for each. "
            "No Cloudflare account needed."
        ),
        "Example: turnmeter demo",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from rich.console import Console

    from turnmeter.cli.demo import run_demo

    asyncio.run(run_demo(Console()))
    return 0
