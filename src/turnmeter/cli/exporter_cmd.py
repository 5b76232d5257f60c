"""``turnmeter exporter``: serve Prometheus metrics of TURN usage (the ``exporter`` extra)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from turnmeter.cli.options import (
    add_command,
    add_connection_options,
    add_pricing_options,
    at_least,
    seconds,
)
from turnmeter.errors import ConfigError


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "exporter",
        "Poll the account on a minute-aligned schedule and serve /metrics "
        "(Prometheus text, or OpenMetrics when asked) and /healthz. Counters are accumulated "
        "from settled minutes (older than the settle delay), each counted once; the watermark "
        "and the counters live in the state file, so a restart neither resets nor "
        "double-counts. A first start backfills from the start of the UTC month. Flags win "
        "over the config file's exporter_* keys.",
        "Example: turnmeter exporter --state /var/lib/turnmeter/exporter.sqlite",
    )
    add_connection_options(parser)
    group = parser.add_argument_group("exporter")
    group.add_argument("--listen", metavar="HOST:PORT", help="default 127.0.0.1:9877")
    group.add_argument(
        "--state",
        metavar="FILE",
        help="SQLite state file (watermark and counters); default: in memory, so a restart "
        "backfills the month again",
    )
    group.add_argument(
        "--settle-delay",
        type=seconds,
        metavar="SECONDS",
        help="count a minute once it is this old (rounded up to minutes; default 300)",
    )
    group.add_argument("--poll-interval", type=_positive, metavar="SECONDS", help="default 60")
    group.add_argument(
        "--labels",
        metavar="LIST",
        help="counter labels: key_id,custom_identifier (the default), one of them, or none",
    )
    group.add_argument(
        "--top-customers",
        type=at_least(1),
        metavar="N",
        help="customers with their own series, by month-to-date egress; the rest are "
        'custom_identifier="__other__" (default 100)',
    )
    group.add_argument(
        "--degraded-after",
        type=at_least(1),
        metavar="N",
        help="failed polls in a row before /healthz answers 503 degraded (default 3)",
    )
    group.add_argument("--budget", type=float, metavar="USD", help="monthly budget in dollars")
    group.add_argument(
        "--once",
        action="store_true",
        help="poll once, print the metrics (Prometheus text) and exit (1 if the poll failed)",
    )
    add_pricing_options(parser)
    parser.set_defaults(handler=run_exporter)


def _positive(text: str) -> float:
    value = seconds(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def run_exporter(args: argparse.Namespace) -> int:
    from turnmeter.exporter.metrics import INSTALL_HINT

    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        # Before any setting is read or any request sent: say what to install, and only that.
        raise ConfigError(INSTALL_HINT) from None
    settings, listen = exporter_settings(args)
    return asyncio.run(_run(args, settings, listen))


def exporter_settings(args: argparse.Namespace) -> tuple[Any, tuple[str, int]]:
    """The exporter's settings and listen address: flags, else config keys, else defaults."""
    from turnmeter.cli.context import config_of
    from turnmeter.cli.reports import pricing_of
    from turnmeter.exporter.settings import (
        DEFAULT_LISTEN,
        ExporterSettings,
        parse_labels,
        parse_listen,
    )
    from turnmeter.pricing import as_decimal

    config = config_of(args)

    def pick(flag: str, key: str) -> Any:
        value = getattr(args, flag)
        return value if value is not None else config.get(f"exporter_{key}")

    given: dict[str, Any] = {
        "settle_delay": pick("settle_delay", "settle_delay"),
        "poll_interval": pick("poll_interval", "poll_interval"),
        "top_customers": pick("top_customers", "top_customers"),
        "degraded_after": pick("degraded_after", "degraded_after"),
    }
    kwargs = {name: value for name, value in given.items() if value is not None}
    labels = pick("labels", "labels")
    if labels is not None:
        kwargs["labels"] = parse_labels(labels)
    state = pick("state", "state_file")
    if state is not None:
        kwargs["state_path"] = Path(state)
    budget = args.budget if args.budget is not None else config.get("budget_usd")
    if budget is not None:
        kwargs["budget_usd"] = as_decimal(budget, "--budget")
    settings = ExporterSettings(pricing=pricing_of(args), **kwargs)
    return settings, parse_listen(pick("listen", "listen") or DEFAULT_LISTEN)


async def _run(args: argparse.Namespace, settings: Any, listen: tuple[str, int]) -> int:
    from turnmeter.cli.context import open_client
    from turnmeter.exporter.app import Exporter
    from turnmeter.exporter.poller import utc_clock

    async with open_client(args) as (turn, now):
        # --now fixes the clock (reproducible runs, fixed-clock sandboxes); else the real one.
        clock = (lambda: now) if args.now else utc_clock
        async with Exporter(turn, settings, clock=clock) as exporter:
            if args.once:
                ok = await exporter.poller.poll()
                body, _ = await exporter.exposition.body(None)
                sys.stdout.write(body.decode())
                if not ok:
                    print(
                        f"turnmeter: poll failed: {exporter.poller.stats.last_error}",
                        file=sys.stderr,
                    )
                return 0 if ok else 1
            if not args.verbose:
                # A long-running server: its poll failures belong on stderr (never a token).
                logging.basicConfig(
                    level=logging.WARNING,
                    format="%(asctime)s %(name)s: %(message)s",
                    stream=sys.stderr,
                )
            port = await exporter.start_http(*listen)
            print(
                f"turnmeter exporter: serving http://{listen[0]}:{port}/metrics "
                f"(state: {settings.state_path or 'in memory'})",
                file=sys.stderr,
                flush=True,
            )
            exporter.start_polling()
            stop = asyncio.Event()
            with contextlib.suppress(NotImplementedError):
                asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
            await stop.wait()
    return 0
