"""A 1,000,000-row series in bounded memory: pages of ``timeseries`` folded as they arrive.

Run by ``python -m bench`` in a fresh process (so ``ru_maxrss`` is this job's peak alone):

    python -m bench.memory URL ROWS PAGE [--hold]

Prints JSON: rows seen, peak RSS after the first page and at the end, seconds. ``--hold`` keeps
every row in a list instead, to show what bounded memory saves.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from typing import Any

from bench.contenders import ACCOUNT, TOKEN, window


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def pull(url: str, rows: int, page: int, hold: bool) -> dict[str, Any]:
    from turnmeter import TurnUsage
    from turnmeter.transport.ratelimit import RateBudget

    kept: list[Any] = []
    seen = total = 0
    first_page_mb = 0.0
    started = time.perf_counter()
    async with TurnUsage(
        account_tag=ACCOUNT, api_token=TOKEN, endpoint=url, rate_budget=RateBudget(limit=None)
    ) as turn:
        for number in range(rows // page):
            points = await turn.timeseries(*window(number), limit=page)
            seen += len(points)
            total += sum(point.egress_bytes for point in points)
            if hold:
                kept.extend(points)
            if number == 0:
                first_page_mb = _peak_mb()
    return {
        "rows": seen,
        "held": len(kept),
        "egress_total": total,
        "peak_rss_after_first_page_mb": round(first_page_mb, 1),
        "peak_rss_mb": round(_peak_mb(), 1),
        "seconds": round(time.perf_counter() - started, 2),
    }


if __name__ == "__main__":
    url, rows, page = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    print(json.dumps(asyncio.run(pull(url, rows, page, "--hold" in sys.argv))))
