"""What a ledger holds: series (a grain and a set of dimensions), bucket rows and coverage.

A *series* is one way of slicing usage: buckets of one grain (minute, hour or day), grouped by
a fixed set of the TURN node's non-time dimensions. Every bucket row stores all seven non-time
dimension columns; those outside the series' set hold ``""``, so one table and one primary key
(series, bucket start, dimension values) serve every series. Coverage is kept per bucket, with
or without traffic: a bucket the ledger has asked Cloudflare about is covered (``fetched_at``),
and settled once it was fetched after the settle delay had passed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from turnmeter.errors import ConfigError
from turnmeter.query.catalog import DIMENSIONS

#: Bucket width in seconds of each grain, and the DSL time dimension that fetches it.
GRAINS: Mapping[str, int] = {"minute": 60, "hour": 3600, "day": 86400}
TIME_DIMENSION: Mapping[str, str] = {"minute": "minute", "hour": "hour", "day": "date"}

#: The non-time dimensions a bucket row has a column for, in column order.
STORED_DIMENSIONS: tuple[str, ...] = tuple(d.name for d in DIMENSIONS if not d.is_time)
#: The metrics a bucket row stores: sums, which add across buckets (averages do not).
STORED_METRICS: tuple[str, ...] = ("egress_bytes", "ingress_bytes")

DEFAULT_GRAIN = "hour"
DEFAULT_DIMENSIONS: tuple[str, ...] = ("key_id", "custom_identifier")
#: How long after a bucket ends its numbers are taken as final (late data, adaptive sampling).
DEFAULT_SETTLE = timedelta(hours=2)

#: A bucket row as stored: start, the seven dimension values, egress, ingress, fetched_at.
BucketRow = tuple[int, str, str, str, str, str, str, str, int, int, int]


@dataclass(frozen=True, slots=True)
class SeriesSpec:
    """A grain and a set of dimensions (stored in canonical column order)."""

    grain: str = DEFAULT_GRAIN
    dimensions: tuple[str, ...] = DEFAULT_DIMENSIONS

    def __post_init__(self) -> None:
        if self.grain not in GRAINS:
            raise ConfigError(f"grain must be one of {', '.join(GRAINS)}, got {self.grain!r}")
        object.__setattr__(self, "dimensions", canonical_dimensions(self.dimensions))

    @property
    def seconds(self) -> int:
        return GRAINS[self.grain]

    @property
    def label(self) -> str:
        """``hour by key_id,custom_identifier``."""
        return f"{self.grain} by {','.join(self.dimensions) or '(no dimensions)'}"


def canonical_dimensions(names: Iterable[str] | str) -> tuple[str, ...]:
    """``names`` checked (non-time TURN dimensions, no repeats) in column order."""
    if isinstance(names, str):
        names = [part.strip() for part in names.split(",") if part.strip()]
    wanted = list(names)
    for name in wanted:
        if not isinstance(name, str) or name not in STORED_DIMENSIONS:
            times = ", ".join(d.name for d in DIMENSIONS if d.is_time)
            raise ConfigError(
                f"unknown ledger dimension {name!r}; choose from {', '.join(STORED_DIMENSIONS)} "
                f"(time dimensions such as {times} come from the grain)"
            )
    if len(set(wanted)) != len(wanted):
        raise ConfigError(f"a dimension is named twice in {','.join(wanted)}")
    return tuple(name for name in STORED_DIMENSIONS if name in wanted)


@dataclass(frozen=True, slots=True)
class Series:
    """A series as stored: its id, what it slices, and the first bucket it covers."""

    id: int
    spec: SeriesSpec
    since: int  # epoch seconds of the first bucket the ledger is to hold


@dataclass(frozen=True, slots=True)
class Cover:
    """One bucket's coverage: when it was fetched and whether that fetch was final."""

    bucket_start: int
    fetched_at: int
    settled: bool


def epoch(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp())


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def floor_to(seconds: int, step: int) -> int:
    return seconds - seconds % step


def ceil_to(seconds: int, step: int) -> int:
    return -(-seconds // step) * step
