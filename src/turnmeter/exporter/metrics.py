"""What ``/metrics`` shows: ``prometheus_client`` collectors over the poller's numbers.

Nothing here asks Cloudflare. The numbers that change only when a poll moves the watermark (the
counters per label set, the connections gauge, month to date, cost, free tier, budget, the
forecast) are a :class:`Snapshot`, rendered once per poll in a worker thread and served as bytes:
``prometheus_client`` takes about 10 us a sample, so 10,000 label sets (30,000 samples) would
cost a scrape 300 ms. Only the data age and the self-metrics are rendered per scrape. A scrape
during a render serves the previous poll's snapshot, whole: counters and watermark always agree.
Cost and free tier left come from :mod:`turnmeter.pricing`, as ``turnmeter budget`` has them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from turnmeter.errors import ConfigError
from turnmeter.exporter.poller import Poller, next_month
from turnmeter.exporter.settings import LABELS, ExporterSettings
from turnmeter.pricing import BYTES_PER_GB, is_over_budget

if TYPE_CHECKING:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
    from prometheus_client.registry import CollectorRegistry

#: What to do without the extra (the CLI says the same).
INSTALL_HINT = "the exporter needs prometheus_client: pip install 'turnmeter[exporter]'"

Encoder = Callable[["CollectorRegistry"], bytes]
#: (label values, egress, ingress, connections of the last settled minute)
Series = tuple[list[str], int, int, int]
_EOF = b"# EOF\n"

#: The help text of every unlabelled family.
HELP = {
    "turnmeter_turn_month_egress_bytes": "Egress of this UTC month's settled minutes (account)",
    "turnmeter_turn_month_ingress_bytes": "Ingress of this UTC month's settled minutes (account)",
    "turnmeter_turn_month_cost_usd": "This month's settled egress cost after the free tier (USD)",
    "turnmeter_turn_free_tier_bytes": "The monthly free tier (bytes; shared by TURN and the SFU)",
    "turnmeter_turn_free_tier_left_bytes": "Free tier bytes left this month",
    "turnmeter_turn_month_forecast_egress_bytes": "This month's egress at its month-to-date rate",
    "turnmeter_turn_month_forecast_cost_usd": "The forecast egress's cost after the free tier",
    "turnmeter_turn_price_per_gb_usd": "The price per GB of egress the cost gauges use (USD)",
    "turnmeter_turn_budget_usd": "The monthly budget (USD)",
    "turnmeter_turn_budget_left_usd": "Budget left this month (USD; at or below 0: over budget)",
    "turnmeter_turn_over_budget": "1 once this month's cost has reached the budget",
    "turnmeter_turn_watermark_timestamp_seconds": "Everything before this instant is counted",
    "turnmeter_exporter_series": "Label sets the counters expose (bounded by the top-N cap)",
    "turnmeter_turn_data_age_seconds": "Now minus the watermark (settle delay + failed polls)",
    "turnmeter_exporter_queries": "GraphQL requests the exporter's polls sent to Cloudflare",
    "turnmeter_exporter_queries_refused": "Requests refused for rate (client budget or server)",
    "turnmeter_exporter_consecutive_failures": "Polls failed in a row (healthz degrades at N)",
    "turnmeter_exporter_healthy": "1 unless healthz is degraded",
    "turnmeter_exporter_last_success_timestamp_seconds": "Wall-clock time of the last good poll",
    "turnmeter_exporter_poll_duration_seconds": "How long the last poll took",
    "turnmeter_exporter_scrape_timestamp_seconds": "Wall-clock time of this scrape",
}


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The ledger's numbers at one watermark, copied out of it (renderable in a thread)."""

    series: tuple[Series, ...]
    month_egress: int
    month_ingress: int
    watermark: datetime
    month: str  # YYYY-MM: the month the month-to-date numbers belong to


def take_snapshot(poller: Poller) -> Snapshot:
    ledger = poller.ledger
    positions = [i for i, name in enumerate(LABELS) if name in poller.settings.labels]
    series = tuple(
        (
            [key[i] for i in positions],
            ledger.counters[key][0],
            ledger.counters[key][1],
            ledger.connections.get(key, 0),
        )
        for key in ledger.exposed()
    )
    return Snapshot(
        series, ledger.month_egress, ledger.month_ingress, ledger.watermark, ledger.month
    )


class SnapshotCollector:
    """The counters and month gauges of one snapshot."""

    def __init__(self, snapshot: Snapshot, settings: ExporterSettings) -> None:
        self.snapshot, self.settings = snapshot, settings

    def collect(self) -> Iterator[Metric]:
        core = _prometheus().core
        names = list(self.settings.labels)
        egress = core.CounterMetricFamily(
            "turnmeter_turn_egress_bytes",
            "TURN egress bytes (Cloudflare to clients, the billed quantity) of settled minutes",
            labels=names,
        )
        ingress = core.CounterMetricFamily(
            "turnmeter_turn_ingress_bytes",
            "TURN ingress bytes (clients to Cloudflare) of settled minutes",
            labels=names,
        )
        connections = core.GaugeMetricFamily(
            "turnmeter_turn_concurrent_connections",
            "Average concurrent TURN connections in the last settled minute",
            labels=names,
        )
        for values, out, into, conns in self.snapshot.series:
            egress.add_metric(values, out)
            ingress.add_metric(values, into)
            connections.add_metric(values, conns)
        yield egress
        yield ingress
        yield connections
        yield from self._month()

    def _month(self) -> Iterator[Metric]:
        snapshot, settings = self.snapshot, self.settings
        pricing = settings.pricing
        egress = snapshot.month_egress
        cost = pricing.month_cost(egress)
        forecast = _forecast(egress, snapshot.month, snapshot.watermark)
        values: list[tuple[str, float]] = [
            ("turnmeter_turn_month_egress_bytes", egress),
            ("turnmeter_turn_month_ingress_bytes", snapshot.month_ingress),
            ("turnmeter_turn_month_cost_usd", float(cost)),
            ("turnmeter_turn_free_tier_bytes", int(pricing.free_tier_gb * BYTES_PER_GB)),
            ("turnmeter_turn_free_tier_left_bytes", pricing.free_tier_left_bytes(egress)),
            ("turnmeter_turn_month_forecast_egress_bytes", forecast),
            ("turnmeter_turn_month_forecast_cost_usd", float(pricing.month_cost(forecast))),
            ("turnmeter_turn_price_per_gb_usd", float(pricing.price_per_gb)),
        ]
        budget = settings.budget_usd
        if budget is not None:
            values += [
                ("turnmeter_turn_budget_usd", float(budget)),
                ("turnmeter_turn_budget_left_usd", float(budget - cost)),
                ("turnmeter_turn_over_budget", int(is_over_budget(cost, budget))),
            ]
        values += [
            ("turnmeter_turn_watermark_timestamp_seconds", snapshot.watermark.timestamp()),
            ("turnmeter_exporter_series", len(snapshot.series)),
        ]
        for name, value in values:
            yield _gauge(name, value)


class LiveCollector:
    """What changes between polls: the data age and the exporter's self-metrics."""

    def __init__(self, exposition: Exposition) -> None:
        self.exposition = exposition

    def collect(self) -> Iterator[Metric]:
        poller = self.exposition.poller
        watermark = self.exposition.snapshot.watermark
        stats, queries = poller.stats, poller.fetcher.stats
        age = max(0.0, (poller.clock() - watermark).total_seconds())
        yield _gauge("turnmeter_turn_data_age_seconds", age)
        yield _counter("turnmeter_exporter_queries", queries.sent)
        yield _counter("turnmeter_exporter_queries_refused", queries.refused_for_rate)
        core = _prometheus().core
        errors = core.CounterMetricFamily(
            "turnmeter_exporter_errors", "Failed polls by error family", labels=["family"]
        )
        for family, count in stats.errors.items():
            errors.add_metric([family], count)
        yield errors
        polls = core.CounterMetricFamily(
            "turnmeter_exporter_polls", "Polls by outcome", labels=["outcome"]
        )
        polls.add_metric(["ok"], stats.polls_ok)
        polls.add_metric(["failed"], stats.polls_failed)
        yield polls
        for name, value in (
            ("turnmeter_exporter_consecutive_failures", stats.consecutive_failures),
            ("turnmeter_exporter_healthy", int(poller.healthy)),
            ("turnmeter_exporter_last_success_timestamp_seconds", stats.last_success or 0.0),
            ("turnmeter_exporter_poll_duration_seconds", stats.last_duration or 0.0),
            ("turnmeter_exporter_scrape_timestamp_seconds", time.time()),
        ):
            yield _gauge(name, value)


class Exposition:
    """The bytes ``/metrics`` serves: a rendered snapshot per format, and the live part."""

    def __init__(self, poller: Poller) -> None:
        self.poller = poller
        prometheus = _prometheus()
        self._registry_class = prometheus.registry.CollectorRegistry
        self._choose_encoder = prometheus.exposition.choose_encoder
        self.live = self._registry_class(auto_describe=False)
        self.live.register(LiveCollector(self))
        self.snapshot = take_snapshot(poller)
        #: content type -> (encoder, the snapshot rendered with it)
        self._rendered: dict[str, tuple[Encoder, bytes]] = {}
        text, content_type = self._choose_encoder("")
        self._rendered[content_type] = (text, self._render(self.snapshot, text))
        self._lock = asyncio.Lock()
        poller.on_change.append(self.refresh)

    def _render(self, snapshot: Snapshot, encoder: Encoder) -> bytes:
        registry = self._registry_class(auto_describe=False)
        registry.register(SnapshotCollector(snapshot, self.poller.settings))
        return encoder(registry)

    async def refresh(self) -> None:
        """Render the ledger as it is now, for every format asked for so far (off the loop)."""
        async with self._lock:
            snapshot = take_snapshot(self.poller)
            encoders = {kind: encoder for kind, (encoder, _) in self._rendered.items()}

            def render_all() -> dict[str, tuple[Encoder, bytes]]:
                return {k: (e, self._render(snapshot, e)) for k, e in encoders.items()}

            rendered = await asyncio.to_thread(render_all)
            # One swap: a scrape sees the old snapshot or the new one, never a mix.
            self.snapshot, self._rendered = snapshot, rendered

    async def body(self, accept: str | None) -> tuple[bytes, str]:
        """The exposition the ``Accept`` header asks for: OpenMetrics if it says so, else text."""
        encoder, content_type = self._choose_encoder(accept or "")
        if content_type not in self._rendered:
            async with self._lock:  # the first scrape in this format renders it
                if content_type not in self._rendered:
                    snapshot = self.snapshot
                    body = await asyncio.to_thread(self._render, snapshot, encoder)
                    self._rendered[content_type] = (encoder, body)
        cached = self._rendered[content_type][1]
        live = encoder(self.live)
        if cached.endswith(_EOF):  # OpenMetrics ends once, after the last family
            cached = cached[: -len(_EOF)]
        return cached + live, content_type


def _prometheus() -> Any:
    """``prometheus_client`` (the ``exporter`` extra), or a ConfigError saying to install it."""
    try:
        import prometheus_client.core
        import prometheus_client.exposition
        import prometheus_client.registry
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    return prometheus_client


def _gauge(name: str, value: float) -> GaugeMetricFamily:
    family: GaugeMetricFamily = _prometheus().core.GaugeMetricFamily(name, HELP[name], value=value)
    return family


def _counter(name: str, value: float) -> CounterMetricFamily:
    family: CounterMetricFamily = _prometheus().core.CounterMetricFamily(
        name, HELP[name], value=value
    )
    return family


def _forecast(month_egress: int, month: str, watermark: datetime) -> int:
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    end = next_month(start)
    counted = (min(watermark, end) - start).total_seconds()
    if counted <= 0:
        return month_egress
    return int(Decimal(month_egress) * Decimal((end - start).total_seconds()) / Decimal(counted))
