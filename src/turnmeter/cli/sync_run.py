"""What ``sync`` and ``ledger status`` do once parsed: run the ledger, draw progress, print."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

from turnmeter.cli.context import open_client
from turnmeter.errors import ConfigError
from turnmeter.fleet import Lease
from turnmeter.ledger import Ledger
from turnmeter.ledger.coverage import CoverageReport
from turnmeter.ledger.ledger import sync_lease
from turnmeter.ledger.sync import ProgressHook, SyncProgress, SyncResult
from turnmeter.query.timerange import parse_moment
from turnmeter.transport.redis_url import ENV_REDIS_URL


async def sync_command(args: argparse.Namespace, store: str) -> int:
    if args.follow and args.now:
        raise ConfigError("--follow runs on the clock; it cannot take --now")
    async with open_client(args) as (client, now):
        since = parse_moment(args.since, now, name="--since") if args.since else None
        # One run counts from the command's "now" (--now, or an in-process sandbox's clock);
        # --follow reads the wall clock at every run.
        clock = None if args.follow else (lambda: now)
        ledger = Ledger(
            store, grain=args.grain, dimensions=args.dimensions, settle=args.settle, clock=clock
        )
        async with ledger:
            if not args.follow:
                with sync_progress(f"sync {ledger.spec.label}") as hook:
                    result = await ledger.sync(client, since=since, on_progress=hook)
                print(summary(result, ledger))
                return 0
            lease = _lease(args, store, client.settings.account_tag, ledger)

            async def follow() -> None:
                with sync_progress(f"sync {ledger.spec.label}") as hook:
                    async for result in ledger.follow(
                        client,
                        interval=args.interval,
                        since=since,
                        on_progress=hook,
                        lease=lease,
                        on_lease=_say_lease,
                    ):
                        print(summary(result, ledger), flush=True)

            try:
                await _until_terminated(follow())
            finally:
                if lease is not None:
                    await lease.redis.aclose()
    return 0


async def _until_terminated(loop: Coroutine[Any, Any, None]) -> None:
    # SIGTERM (systemd, Kubernetes) stops --follow as cleanly as Ctrl-C: the window in flight
    # is abandoned uncommitted, the lease is handed back, the store is closed.
    task = asyncio.ensure_future(loop)
    with contextlib.suppress(NotImplementedError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled() or asyncio.current_task().cancelling():  # type: ignore[union-attr]
            raise  # Ctrl-C (or a caller) cancelled us, not SIGTERM


def _lease(args: argparse.Namespace, store: str, account: str, ledger: Ledger) -> Lease | None:
    # With Redis (--redis or $TURNMETER_REDIS_URL), replicas of `sync --follow` on one store
    # take turns: one syncs, the others stand by (turnmeter.ledger.ledger.sync_lease).
    url = getattr(args, "redis", None) or os.environ.get(ENV_REDIS_URL)
    return sync_lease(url, store, account, ledger, args.interval) if url else None


def _say_lease(state: str) -> None:
    messages = {
        "holding": "sync lease held: this replica syncs",
        "standby": "standby: another replica holds the sync lease",
    }
    print(f"turnmeter: {messages.get(state, state)}", file=sys.stderr, flush=True)


def summary(result: SyncResult, ledger: Ledger) -> str:
    """One line: what the run fetched and what is left unsettled or out of reach."""
    parts = [
        f"synced {result.spec.label} into {ledger.store.display}: "
        f"{_count(result.windows, 'window')}, {_count(result.queries, 'query', 'queries')}, "
        f"{_count(result.buckets, 'bucket')}, {_count(result.rows, 'row')}"
    ]
    if result.unsettled:
        parts.append("unsettled " + ", ".join(s.describe() for s in result.unsettled))
    if result.unreachable:
        parts.append(
            "older than Cloudflare keeps (cannot be filled) "
            + ", ".join(s.describe() for s in result.unreachable)
        )
    return "; ".join(parts)


def _count(number: int, one: str, many: str | None = None) -> str:
    return f"{number:,} {one if number == 1 else many or one + 's'}"


@contextmanager
def sync_progress(description: str) -> Iterator[ProgressHook | None]:
    """Windows done and queries spent, as a bar on stderr (only on a terminal)."""
    if not sys.stderr.isatty():
        yield None
        return
    from turnmeter.cli.progress import windows_bar

    counts = "windows, {task.fields[queries]} queries, {task.fields[rows]:,} rows"
    with windows_bar(description, counts, queries=0, rows=0) as (bar, task):

        def update(progress: SyncProgress) -> None:
            bar.update(
                task,
                completed=progress.windows_done,
                total=progress.windows_total,
                queries=progress.queries,
                rows=progress.rows,
            )

        yield update


async def status_command(args: argparse.Namespace, store: str) -> int:
    async with Ledger(store) as ledger:
        reports = await ledger.status()
        version = await ledger.store.version()
    if args.format == "json":
        document = {
            "store": ledger.store.display,
            "schema_version": version,
            "series": [_as_json(r) for r in reports],
        }
        print(json.dumps(document, indent=2))
        return 0
    print(f"ledger {ledger.store.display} (schema version {version})")
    if not reports:
        print("  empty: run turnmeter sync")
    for report in reports:
        print(f"  {report.series.spec.label}: {report.buckets} buckets")
        for name, spans in (
            ("settled", report.settled),
            ("unsettled", report.unsettled),
            ("gaps", report.gaps),
        ):
            text = ", ".join(s.describe() for s in spans) or "none"
            print(f"    {name}: {text}")
    return 0


def _as_json(report: CoverageReport) -> dict[str, Any]:
    def spans(items: Any) -> list[dict[str, str]]:
        return [{"since": s.since.isoformat(), "until": s.until.isoformat()} for s in items]

    return {
        "grain": report.series.spec.grain,
        "dimensions": list(report.series.spec.dimensions),
        "since": report.series_start.isoformat(),
        "buckets": report.buckets,
        "settled": spans(report.settled),
        "unsettled": spans(report.unsettled),
        "gaps": spans(report.gaps),
        "watermark": report.watermark.isoformat() if report.watermark else None,
    }
