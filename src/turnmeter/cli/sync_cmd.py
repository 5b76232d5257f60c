"""``turnmeter sync`` (fill the usage ledger) and ``turnmeter ledger status`` (its coverage)."""

from __future__ import annotations

import argparse
import re
from datetime import timedelta
from typing import Any

from turnmeter.cli.options import add_command, add_connection_options, positive_seconds

#: Default store: ``usage.db`` beside the config file (see turnmeter.cli.config).
DEFAULT_STORE_NAME = "usage.db"
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|min|h|d)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def duration(text: str) -> timedelta:
    """An argparse ``type=``: ``2h``, ``90m``, ``1d``, ``0`` (seconds when no unit)."""
    match = _DURATION.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration: use 2h, 90m, 1d or 0")
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[(match.group(2) or "s").lower()])


def _add_store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        metavar="URL",
        help="sqlite:///PATH or postgresql://USER@HOST/DB (password from PGPASSWORD); default: "
        f"sqlite {DEFAULT_STORE_NAME} next to the config file",
    )


def register(subparsers: Any) -> None:
    sync = add_command(
        subparsers,
        "sync",
        "Continue the ledger from its watermark: fetch new buckets, fill gaps, "
        "re-fetch buckets younger than --settle and replace them (never add them twice), and "
        "mark buckets settled once older than --settle. One transaction per fetched window: "
        "kill it at any moment and run it again.",
        "Example: turnmeter sync --store sqlite:///usage.db --grain hour --since 30d",
    )
    add_connection_options(sync)
    _add_store(sync)
    sync.add_argument("--grain", choices=("minute", "hour", "day"), default="hour")
    sync.add_argument(
        "--dimensions",
        default="key_id,custom_identifier",
        help="comma-separated TURN dimensions (default key_id,custom_identifier)",
    )
    sync.add_argument(
        "--since",
        help="first run only: where the ledger starts (default: as far back as Cloudflare's "
        "notOlderThan allows); an earlier value later extends it",
    )
    sync.add_argument(
        "--settle",
        type=duration,
        default=timedelta(hours=2),
        help="how long after a bucket ends it is final (default 2h)",
    )
    sync.add_argument(
        "--rate-budget-file",
        metavar="FILE",
        help="share Cloudflare's 300-queries-per-5-minutes budget through FILE (SQLite) with "
        "every other turnmeter process that names it (default: this process's own budget)",
    )
    sync.add_argument("--follow", action="store_true", help="keep syncing every --interval")
    sync.add_argument(
        "--interval",
        type=positive_seconds,
        default=300.0,
        help="seconds between runs with --follow (default 300)",
    )
    sync.set_defaults(handler=_run_sync)

    ledger = add_command(
        subparsers,
        "ledger",
        "What the ledger holds, per series.",
        "Example: turnmeter ledger status --store sqlite:///usage.db",
    )
    actions = ledger.add_subparsers(dest="ledger_command", metavar="ACTION")
    status = actions.add_parser(
        "status",
        help="settled ranges, unsettled tail and gaps",
        description="Per series: the settled ranges, the unsettled tail (fetched again by the "
        "next sync) and the gaps (filled by the next sync, when Cloudflare still has them).",
        epilog="Example: turnmeter ledger status --store sqlite:///usage.db --format json",
    )
    _add_store(status)
    status.add_argument("--format", choices=("table", "json"), default="table")
    status.set_defaults(handler=_run_status)


def store_of(args: argparse.Namespace) -> str:
    """``--store``, or the default SQLite file beside the config file."""
    if args.store:
        return str(args.store)
    from turnmeter.cli.config import default_config_path

    return f"sqlite:///{default_config_path().parent / DEFAULT_STORE_NAME}"


def _run_sync(args: argparse.Namespace) -> int:
    import asyncio

    from turnmeter.cli.sync_run import sync_command

    return asyncio.run(sync_command(args, store_of(args)))


def _run_status(args: argparse.Namespace) -> int:
    import asyncio

    from turnmeter.cli.sync_run import status_command

    return asyncio.run(status_command(args, store_of(args)))
