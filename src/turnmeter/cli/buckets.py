"""The buckets of a series: every bucket of the range, the empty and the partial ones marked.

Cloudflare answers only the buckets that have traffic. A series read by a person needs the
others too: a missing hour is a quiet hour (zero egress), and the first and last buckets of a
range are often cut by it (a day chart's first day starting at 19:00), which must not read as a
quiet period.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the parser imports EVERY: keep it free of the query package
    from turnmeter.query.timerange import TimeRange

#: The series column for the average concurrent connections of each bucket.
CONNECTIONS = "connections_open"


@dataclass(frozen=True)
class Every:
    """One ``--every`` value: the DSL time dimension, its average metric, its width."""

    dimension: str
    average: str | None
    seconds: int
    noun: str  # "hour", "15 minutes": what one bucket is, in words


EVERY: dict[str, Every] = {
    "minute": Every("minute", "avg_connections_minute", 60, "minute"),
    "5m": Every("five_minutes", "avg_connections_five_minutes", 300, "5 minutes"),
    "15m": Every("fifteen_minutes", "avg_connections_fifteen_minutes", 900, "15 minutes"),
    "hour": Every("hour", "avg_connections_hour", 3600, "hour"),
    "day": Every("date", None, 86400, "day"),
}


@dataclass(frozen=True)
class Bucket:
    """One bucket of the range: its start, and whether the range covers only part of it."""

    start: datetime
    partial: bool

    def label(self, every: Every) -> datetime | date:
        """The bucket as the series shows it: a date per day, else its start time."""
        return self.start.date() if every.dimension == "date" else self.start


def buckets(span: TimeRange, every: Every) -> list[Bucket]:
    """Every ``every``-wide bucket that ``span`` touches, in time order (buckets start at
    00:00 UTC, as Cloudflare truncates)."""
    width = timedelta(seconds=every.seconds)
    since = span.since.astimezone(UTC)
    midnight = since.replace(hour=0, minute=0, second=0, microsecond=0)
    start = midnight + ((since - midnight) // width) * width
    out: list[Bucket] = []
    while start < span.until:
        out.append(Bucket(start, start < span.since or start + width > span.until))
        start += width
    return out


def fill_series(
    span: TimeRange, every: Every, found: Mapping[Any, Mapping[str, Any]], *, keep_empty: bool
) -> tuple[list[dict[str, Any]], list[Bucket], list[Bucket]]:
    """The series records (every bucket, or only those with traffic), and the empty and partial
    buckets.

    ``found`` maps a bucket label to the row the query returned for it. An empty bucket has
    zero egress, ingress and connections.
    """
    records: list[dict[str, Any]] = []
    empty: list[Bucket] = []
    partial = [bucket for bucket in buckets(span, every) if bucket.partial]
    # A source that keeps sums only (the ledger) answers without the average: no column then,
    # rather than zeros that would read as "no connections".
    kept = not found or any(every.average in row for row in found.values())
    average = every.average if kept else None
    for bucket in buckets(span, every):
        row = found.get(bucket.label(every))
        if row is None:
            empty.append(bucket)
            if not keep_empty:
                continue
        record: dict[str, Any] = {
            "bucket": bucket.label(every),
            "egress_bytes": row["egress_bytes"] if row else 0,
            "ingress_bytes": row["ingress_bytes"] if row else 0,
        }
        if average:
            record[CONNECTIONS] = row[average] if row else 0
        record["partial"] = bucket.partial
        records.append(record)
    return records, empty, partial
