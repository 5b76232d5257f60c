"""``--sandbox URL`` commands count relative ranges on the sandbox's clock (``X-Sandbox-Now``).

A sandbox serving a file seeded for another day has its data around that day's clock: "the last
7 days" from the local clock would find nothing. ``--now`` still wins when given.
"""

from __future__ import annotations

from datetime import datetime

#: Seconds to wait for the clock when the command sets no --timeout.
DEFAULT_CLOCK_TIMEOUT = 10.0
#: The cheapest request the sandbox answers: no TURN node, so it costs no rate budget.
_PROBE = "{ __typename }"


async def sandbox_clock(url: str, token: str, wait: float | None) -> datetime | None:
    """The clock the sandbox at ``url`` reports, or None when it reports none or cannot be
    reached (the command's own request then fails with the usual transport error)."""

    import aiohttp

    from turnmeter.sandbox.clock import CLOCK_HEADER, parse_clock

    limit = aiohttp.ClientTimeout(total=wait or DEFAULT_CLOCK_TIMEOUT)
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
            value = response.headers.get(CLOCK_HEADER)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None
    return parse_clock(value) if value else None
