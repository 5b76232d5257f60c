"""The exporter's settings: a frozen dataclass, every value checked once when it is built."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from turnmeter.errors import ConfigError
from turnmeter.pricing import Pricing
from turnmeter.validate import positive_int, seconds

#: Where ``turnmeter exporter`` listens unless told otherwise (loopback: metrics are not public).
DEFAULT_LISTEN = "127.0.0.1:9877"
#: How long after a minute Cloudflare's data for it is taken as complete (seconds). Analytics
#: lag traffic by about 30 s and "allow a few minutes"; later rows are not counted (README).
DEFAULT_SETTLE_DELAY = 300.0
#: Seconds between polls; polls start on multiples of it (a minute: one settled minute a poll).
DEFAULT_POLL_INTERVAL = 60.0
#: Customers with their own series (by month-to-date egress); the rest are ``__other__``.
DEFAULT_TOP_CUSTOMERS = 100
#: Failed polls in a row after which ``/healthz`` answers degraded.
DEFAULT_DEGRADED_AFTER = 3
#: The labels a counter carries by default, and every label it may carry.
LABELS = ("key_id", "custom_identifier")
#: The label value that sums every customer outside the top N.
OTHER = "__other__"


@dataclass(frozen=True, slots=True)
class ExporterSettings:
    """What the exporter keeps, how often it asks, and where it keeps its state.

    ``labels`` is a subset of :data:`LABELS`; ``top_customers`` caps the customers with their
    own series (the others are summed into ``custom_identifier="__other__"``); ``state_path``
    is the SQLite file with the watermark and the counters (None: in memory, for tests and
    one-off runs: a restart then starts again from the month's start).
    """

    state_path: Path | None = None
    settle_delay: float = DEFAULT_SETTLE_DELAY
    poll_interval: float = DEFAULT_POLL_INTERVAL
    labels: tuple[str, ...] = LABELS
    top_customers: int = DEFAULT_TOP_CUSTOMERS
    degraded_after: int = DEFAULT_DEGRADED_AFTER
    budget_usd: Decimal | None = None
    pricing: Pricing = field(default_factory=Pricing)

    def __post_init__(self) -> None:
        seconds("settle_delay", self.settle_delay, allow_zero=True)
        seconds("poll_interval", self.poll_interval)
        positive_int("top_customers", self.top_customers)
        positive_int("degraded_after", self.degraded_after)
        labels = tuple(self.labels)
        unknown = [name for name in labels if name not in LABELS]
        if unknown:
            raise ConfigError(
                f"unknown exporter label {unknown[0]!r}; labels are: {', '.join(LABELS)}"
            )
        if len(set(labels)) != len(labels):
            raise ConfigError("exporter labels must not repeat")
        # A canonical order: the state file records the labels, and "b,a" is the same set.
        object.__setattr__(self, "labels", tuple(name for name in LABELS if name in labels))
        if self.budget_usd is not None and (
            not isinstance(self.budget_usd, Decimal)
            or not self.budget_usd.is_finite()
            or self.budget_usd < 0
        ):
            raise ConfigError(f"budget_usd must be a non-negative Decimal, got {self.budget_usd!r}")
        if self.state_path is not None:
            object.__setattr__(self, "state_path", Path(self.state_path))

    @property
    def settle(self) -> float:
        """The settle delay rounded up to whole minutes, in seconds (windows are minutes)."""
        return float(math.ceil(self.settle_delay / 60) * 60)


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9877`` for IPv6) as a host and a port, or ConfigError."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ConfigError(f"listen address must be HOST:PORT, e.g. {DEFAULT_LISTEN}, got {text!r}")
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise ConfigError(f"listen port must be 0 to 65535, got {port}")
    return host.removeprefix("[").removesuffix("]"), port


def parse_labels(text: str) -> tuple[str, ...]:
    """A comma-separated label list (``key_id,custom_identifier``; ``none`` for no labels)."""
    if text.strip().lower() == "none":
        return ()
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise ConfigError("labels must name key_id, custom_identifier, both, or 'none'")
    return names
