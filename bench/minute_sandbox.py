"""A sandbox serving one TURN row per minute, for the long-series benchmarks.

Run in a process of its own (``multiprocessing`` target :func:`serve_minutes`), so that the
server's SQL and JSON do not share the measured client's core or memory.
"""

from __future__ import annotations

import asyncio
import queue
import time
from datetime import datetime, timedelta
from typing import Any

#: How often :func:`receive` checks that the process it waits on is still alive.
POLL_SECONDS = 0.5


class ChildFailed(Exception):
    """A benchmark's helper process died or went silent before it answered."""


def minute_rows(until: datetime, count: int) -> list[Any]:
    """``count`` rows, one per minute, ending just before ``until``; one key, one customer."""
    from turnmeter.sandbox import UsageRow

    since = until - timedelta(minutes=count)
    return [
        UsageRow(
            minute=since + timedelta(minutes=i),
            key_id="bench-key",
            username="bench-user",
            custom_identifier="bench-customer",
            datacenter_city="Frankfurt",
            datacenter_code="FRA",
            datacenter_country="DE",
            datacenter_region="EEUR",
            egress_bytes=1_000_000 + (i * 7919) % 50_000_000,
            ingress_bytes=10_000 + i % 977,
            concurrent_connections=1 + i % 13,
        )
        for i in range(count)
    ]


def serve_minutes(until: datetime, count: int, port_queue: Any, not_older_than: int = 0) -> None:
    """Serve :func:`minute_rows` with the clock at ``until``; put (url, account, token) on the
    queue, then serve until the process is terminated. ``not_older_than`` (seconds) raises the
    node limit for series longer than Cloudflare's default."""
    from turnmeter.sandbox import NodeLimits, Sandbox, SandboxConfig

    limits = NodeLimits(not_older_than=not_older_than) if not_older_than else NodeLimits()

    async def serve() -> None:
        rows = minute_rows(until, count)
        config = SandboxConfig(now=until, rows=rows, rate_limit=None, limits=limits)
        async with Sandbox(config) as sandbox:
            port_queue.put((sandbox.url, sandbox.config.account_tag, sandbox.config.token))
            await asyncio.Event().wait()

    asyncio.run(serve())


def receive(channel: Any, process: Any, timeout: float, what: str) -> Any:
    """The next item on ``channel``; raises :class:`ChildFailed` as soon as ``process`` (a
    ``multiprocessing.Process``) dies without answering, or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return channel.get(timeout=POLL_SECONDS)
        except queue.Empty:
            pass
        if not process.is_alive():
            try:  # it may have answered just before exiting
                return channel.get(timeout=POLL_SECONDS)
            except queue.Empty:
                raise ChildFailed(f"{what} exited ({process.exitcode}) without answering") from None
        if time.monotonic() > deadline:
            raise ChildFailed(f"{what} did not answer within {timeout:.0f} s")
