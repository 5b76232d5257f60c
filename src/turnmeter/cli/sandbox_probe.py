"""What a ``--sandbox URL`` command asks the sandbox first: its clock and its rate limit.

A sandbox serving a file seeded for another day has its data around that day's clock: "the last
7 days" from the local clock would find nothing, so relative ranges count from the sandbox's
``X-Sandbox-Now`` (``--now`` still wins). A sandbox started with ``--rate-limit 3`` refuses
sooner than Cloudflare would, so the hint on a rate-limit error names its own limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from turnmeter.cli.render import format_duration

#: Seconds to wait for the probe when the command sets no --timeout.
DEFAULT_PROBE_TIMEOUT = 10.0
#: The cheapest request the sandbox answers: no TURN node, so it costs no rate budget.
_PROBE = "{ __typename }"


@dataclass(frozen=True)
class SandboxFacts:
    """The sandbox's clock (None if it sent none) and its rate limit, in words."""

    now: datetime | None
    rate_limit: str | None


def rate_limit_words(queries: int | None, window_seconds: float) -> str:
    """``(300, 300.0)`` -> ``"300 queries per 5 minutes"``."""
    if queries is None:
        return "no rate limit"
    window = format_duration(window_seconds)
    window = window.removeprefix("1 ") if window.count(" ") == 1 else window  # "per minute"
    return f"{queries} {'query' if queries == 1 else 'queries'} per {window}"


async def probe_sandbox(url: str, token: str, wait: float | None) -> SandboxFacts:
    """Ask the sandbox at ``url``; an unreachable one reports nothing (the command's own
    request then fails with the usual transport error)."""
    import aiohttp

    from turnmeter.sandbox.clock import CLOCK_HEADER, RATE_HEADER, parse_clock, parse_rate

    limit = aiohttp.ClientTimeout(total=wait or DEFAULT_PROBE_TIMEOUT)
    try:
        async with (
            aiohttp.ClientSession(timeout=limit) as session,
            session.get(
                url,
                params={"query": _PROBE},
                headers={"Authorization": f"Bearer {token}"},
                allow_redirects=False,
            ) as response,
        ):
            clock = response.headers.get(CLOCK_HEADER)
            rate = response.headers.get(RATE_HEADER)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return SandboxFacts(None, None)
    parsed = parse_rate(rate) if rate else None
    return SandboxFacts(
        parse_clock(clock) if clock else None,
        rate_limit_words(*parsed) if parsed else None,
    )
