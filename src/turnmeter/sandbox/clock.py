"""The sandbox's clock on the wire: every answer carries it in the ``X-Sandbox-Now`` header
(and its rate limit in ``X-Sandbox-Rate-Limit``).

A sandbox often serves data made for another day (``sandbox seed --now 2025-06-01``), so a client
that counts "the last 7 days" from its own clock finds nothing. Reading this header, it counts
from the data's clock instead. Cloudflare sends no such header.
"""

from __future__ import annotations

from datetime import UTC, datetime

#: The response header holding the sandbox's "now" (RFC 3339 UTC, whole seconds).
CLOCK_HEADER = "X-Sandbox-Now"
#: The response header holding the sandbox's rate limit: ``300/300`` (queries / window seconds)
#: or ``unlimited``; clients name it in their messages instead of Cloudflare's 300 per 5 minutes.
RATE_HEADER = "X-Sandbox-Rate-Limit"


def format_clock(moment: datetime) -> str:
    """``moment`` as the header writes it: ``2025-06-01T00:00:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_clock(text: str) -> datetime | None:
    """The header's value as an aware UTC datetime, or None if it is not one."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC)


def format_rate(queries: int | None, window_seconds: float) -> str:
    """The rate-limit header's value: ``300/300``, or ``unlimited``."""
    return "unlimited" if queries is None else f"{queries}/{window_seconds:g}"


def parse_rate(text: str) -> tuple[int | None, float] | None:
    """``"300/300"`` -> ``(300, 300.0)``, ``"unlimited"`` -> ``(None, 0.0)``; None if unreadable."""
    if text.strip() == "unlimited":
        return None, 0.0
    queries, _, window = text.partition("/")
    try:
        return int(queries), float(window)
    except ValueError:
        return None
