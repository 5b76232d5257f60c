"""One settled segment from Cloudflare: one grouped request, however many label sets.

The steady state (a poll a minute, one new settled minute) is one request grouped by the kept
labels and ``datetimeMinute``: its sums are the counters' increments and the last minute's
``avg.concurrentConnectionsMinute`` is the connections gauge. A long catch-up (first start, or
after downtime) would be minutes x label sets rows that way, so it is two requests: the sums over
the segment without the minute, and the last minute by itself. The query DSL splits ranges wider
than ``maxDuration`` and pages past ``maxPageSize``; every value travels as a variable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from turnmeter.client import TurnUsage
from turnmeter.errors import RateLimited
from turnmeter.exporter.ledger import LabelKey, Pair, Segment
from turnmeter.query import Query
from turnmeter.query.runner import RunOptions, run_query
from turnmeter.query.windows import CLIP_MARGIN
from turnmeter.rows import DatasetLimits
from turnmeter.transport.ratelimit import CLIENT_BUDGET_CODE

log = logging.getLogger("turnmeter.exporter")

MINUTE = timedelta(minutes=1)
#: Segments up to this many minutes go in one minute-grouped request.
ONE_REQUEST_MINUTES = 5


@dataclass(slots=True)
class QueryStats:
    """What the exporter's requests did (its self-metrics)."""

    sent: int = 0
    refused_for_rate: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)


class _CountingTransport:
    """The client's transport, counting the exporter's own requests as they go through it."""

    def __init__(self, inner: Any, stats: QueryStats) -> None:
        self._inner, self._stats = inner, stats

    async def execute(
        self, query: str, operation_name: str | None, variables: dict[str, Any], *, decoder: Any
    ) -> Any:
        try:
            answer = await self._inner.execute(query, operation_name, variables, decoder=decoder)
        except RateLimited as exc:
            self._stats.refused_for_rate += 1
            # turnmeter's own budget refuses before sending: that request never left.
            here = exc.status is None and any(e.code == CLIENT_BUDGET_CODE for e in exc.errors)
            self._stats.sent += 0 if here else 1
            raise
        except BaseException:
            self._stats.sent += 1
            raise
        self._stats.sent += 1
        return answer


class _Host:
    """What the DSL runner needs of a client, with the transport counted."""

    def __init__(self, turn: TurnUsage, stats: QueryStats) -> None:
        self._turn, self._stats = turn, stats
        self.transport = _CountingTransport(turn.transport, stats)
        self.settings = turn.settings
        self._limits: DatasetLimits | None = None

    async def limits_cached(self) -> DatasetLimits:
        if self._limits is None:
            self._limits = await self._turn.limits_cached()
            self._stats.sent += 1  # the settings query, once per exporter
        return self._limits


class SegmentFetcher:
    """Asks Cloudflare for settled segments of one account, grouped by the kept labels."""

    def __init__(
        self,
        turn: TurnUsage,
        labels: tuple[str, ...],
        clock: Callable[[], datetime],
        *,
        one_request_minutes: int = ONE_REQUEST_MINUTES,
    ) -> None:
        self.labels = labels
        self.stats = QueryStats()
        self._host = _Host(turn, self.stats)
        self._clock = clock
        self._one_request = timedelta(minutes=one_request_minutes)
        self._per_minute = Query(
            dimensions=(*labels, "minute"),
            metrics=("egress_bytes", "ingress_bytes", "avg_connections_minute"),
        )
        self._sums = Query(dimensions=labels, metrics=("egress_bytes", "ingress_bytes"))

    def _key(self, row: Any) -> LabelKey:
        return (
            row.key_id if "key_id" in self.labels else "",
            row.custom_identifier if "custom_identifier" in self.labels else "",
        )

    async def _run(self, query: Query, start: datetime, end: datetime) -> list[Any]:
        # clip: a watermark older than notOlderThan (months of downtime) starts at the oldest
        # data Cloudflare still has; the minutes before it cannot be asked for any more, and a
        # range wholly before it is nothing to ask (not an error to repeat every poll).
        if end <= await self._oldest():
            log.warning(
                "minutes %s to %s are older than Cloudflare keeps (notOlderThan): not counted",
                f"{start:%FT%H:%MZ}",
                f"{end:%FT%H:%MZ}",
            )
            return []
        options = RunOptions(clip=True, clock=self._clock)
        return await run_query(self._host, query, start, end, options)

    async def _oldest(self) -> datetime:
        limits = await self._host.limits_cached()
        now = self._clock()
        try:
            oldest = now - limits.not_older_than + CLIP_MARGIN
        except OverflowError:  # a limit reaching past year 1 bounds nothing
            return datetime.min.replace(tzinfo=UTC)
        floor = oldest.replace(second=0, microsecond=0)
        return floor if floor == oldest else floor + MINUTE

    async def fetch(self, start: datetime, end: datetime) -> Segment:
        """Usage over ``[start, end)`` (whole minutes) and the connections of its last minute."""
        usage: dict[LabelKey, list[int]] = {}
        connections: dict[LabelKey, int] = {}
        last = end - MINUTE
        if end - start <= self._one_request:
            rows = await self._run(self._per_minute, start, end)
        else:
            for row in await self._run(self._sums, start, last):
                _add(usage, self._key(row), row.egress_bytes, row.ingress_bytes)
            rows = await self._run(self._per_minute, last, end)
        for row in rows:
            key = self._key(row)
            _add(usage, key, row.egress_bytes, row.ingress_bytes)
            if row.minute == last:
                connections[key] = connections.get(key, 0) + row.avg_connections_minute
        pairs: dict[LabelKey, Pair] = {key: (cell[0], cell[1]) for key, cell in usage.items()}
        return Segment(start, end, pairs, connections)


def _add(usage: dict[LabelKey, list[int]], key: LabelKey, egress: int, ingress: int) -> None:
    cell = usage.get(key)
    if cell is None:
        usage[key] = [egress, ingress]
    else:
        cell[0] += egress
        cell[1] += ingress
