"""Independent expectations: bucket sums computed straight from the sandbox's raw rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from turnmeter.ledger.model import GRAINS, STORED_DIMENSIONS
from turnmeter.sandbox.model import UsageRow


def bucket_sums(
    rows: Iterable[UsageRow],
    grain: str,
    dimensions: tuple[str, ...],
    since: datetime,
    until: datetime,
) -> dict[tuple[object, ...], tuple[int, int]]:
    """(bucket start, seven dimension values with '' outside ``dimensions``) -> sums."""
    step = GRAINS[grain]
    sums: dict[tuple[object, ...], list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        if not since <= row.minute < until:
            continue
        seconds = int(row.minute.timestamp())
        values = tuple(getattr(row, d) if d in dimensions else "" for d in STORED_DIMENSIONS)
        total = sums[(seconds - seconds % step, *values)]
        total[0] += row.egress_bytes
        total[1] += row.ingress_bytes
    return {key: (egress, ingress) for key, (egress, ingress) in sums.items()}


def ledger_sums(rows: Iterable[tuple[object, ...]]) -> dict[tuple[object, ...], tuple[int, int]]:
    """The same mapping from a ledger's stored rows (dropping fetched_at)."""
    return {tuple(row[:8]): (int(row[8]), int(row[9])) for row in rows}  # type: ignore[call-overload]
