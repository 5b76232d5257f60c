"""Coverage: which buckets a series holds, which are final, where the holes are.

Computed from the per-bucket coverage rows alone (pure functions, no I/O), so ``ledger status``,
the sync planner and the read path agree on one answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from turnmeter.ledger.model import Cover, Series, at


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open range of bucket starts ``[start, end)`` in epoch seconds."""

    start: int
    end: int

    @property
    def since(self) -> datetime:
        return at(self.start)

    @property
    def until(self) -> datetime:
        return at(self.end)

    def describe(self) -> str:
        return f"{self.since:%Y-%m-%d %H:%M} to {self.until:%Y-%m-%d %H:%M} UTC"


@dataclass(frozen=True, slots=True)
class CoverageReport:
    """A series' coverage: settled ranges, the unsettled buckets, and gaps inside it."""

    series: Series
    settled: tuple[Span, ...]
    unsettled: tuple[Span, ...]
    gaps: tuple[Span, ...]
    buckets: int

    @property
    def series_start(self) -> datetime:
        """The first bucket the series is to hold."""
        return at(self.series.since)

    @property
    def watermark(self) -> datetime | None:
        """The end of the newest covered bucket."""
        ends = [s.end for s in (*self.settled, *self.unsettled)]
        return at(max(ends)) if ends else None


def spans(starts: Iterable[int], step: int) -> tuple[Span, ...]:
    """Contiguous runs of bucket starts (``step`` apart) as spans."""
    runs: list[Span] = []
    for start in sorted(starts):
        if runs and runs[-1].end == start:
            runs[-1] = Span(runs[-1].start, start + step)
        else:
            runs.append(Span(start, start + step))
    return tuple(runs)


def bucket_starts(start: int, end: int, step: int) -> range:
    """Every bucket start in ``[start, end)`` (``start`` on a bucket edge)."""
    return range(start, end, step)


def report(series: Series, covers: Sequence[Cover]) -> CoverageReport:
    """Coverage of ``series``; gaps are uncovered buckets between its start and watermark."""
    step = series.spec.seconds
    covered = {c.bucket_start for c in covers}
    settled = spans((c.bucket_start for c in covers if c.settled), step)
    unsettled = spans((c.bucket_start for c in covers if not c.settled), step)
    gaps: tuple[Span, ...] = ()
    if covered:
        top = max(covered) + step
        gaps = spans((b for b in bucket_starts(series.since, top, step) if b not in covered), step)
    return CoverageReport(series, settled, unsettled, gaps, len(covered))


def missing(
    covers: Sequence[Cover], start: int, end: int, step: int
) -> tuple[tuple[Span, ...], tuple[Span, ...]]:
    """Within ``[start, end)``: the uncovered spans and the unsettled ones."""
    by_start = {c.bucket_start: c for c in covers}
    first = start - start % step
    uncovered, unsettled = [], []
    for bucket in bucket_starts(first, end, step):
        cover = by_start.get(bucket)
        if cover is None:
            uncovered.append(bucket)
        elif not cover.settled:
            unsettled.append(bucket)
    return spans(uncovered, step), spans(unsettled, step)
