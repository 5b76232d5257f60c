"""What ``/metrics`` shows: a ``prometheus_client`` collector over the poller's numbers.

The collector reads the ledger and the poll statistics as they are at scrape time; it never
asks Cloudflare. Month-to-date cost and free tier left come from :mod:`turnmeter.pricing`, as
``turnmeter budget`` computes them. Every family is present from the first scrape (counters at
their saved values), so rules and dashboards never see a metric vanish because a poll failed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector, CollectorRegistry

from turnmeter.exporter.ledger import LabelKey
from turnmeter.exporter.poller import Poller, next_month
from turnmeter.pricing import BYTES_PER_GB, is_over_budget
from turnmeter.query.timerange import month_start


class ExporterCollector(Collector):
    """Counters, gauges and self-metrics of one :class:`Poller`."""

    def __init__(self, poller: Poller) -> None:
        self.poller = poller
        self._label_names = list(poller.settings.labels)
        self._positions = tuple(
            index
            for index, name in enumerate(("key_id", "custom_identifier"))
            if name in poller.settings.labels
        )

    def _values(self, key: LabelKey) -> list[str]:
        return [key[index] for index in self._positions]

    def collect(self) -> Iterator[Metric]:
        yield from self._counters()
        yield from self._month()
        yield from self._self_metrics()

    def _counters(self) -> Iterator[Metric]:
        ledger, names = self.poller.ledger, self._label_names
        egress = CounterMetricFamily(
            "turnmeter_turn_egress_bytes",
            "TURN egress bytes (Cloudflare to clients, the billed quantity) of settled minutes",
            labels=names,
        )
        ingress = CounterMetricFamily(
            "turnmeter_turn_ingress_bytes",
            "TURN ingress bytes (clients to Cloudflare) of settled minutes",
            labels=names,
        )
        connections = GaugeMetricFamily(
            "turnmeter_turn_concurrent_connections",
            "Average concurrent TURN connections in the last settled minute",
            labels=names,
        )
        counters = ledger.counters
        for key in ledger.exposed():
            values = self._values(key)
            cell = counters[key]
            egress.add_metric(values, cell[0])
            ingress.add_metric(values, cell[1])
            connections.add_metric(values, ledger.connections.get(key, 0))
        yield egress
        yield ingress
        yield connections

    def _month(self) -> Iterator[Metric]:
        poller = self.poller
        ledger, settings = poller.ledger, poller.settings
        pricing = settings.pricing
        now = poller.clock()
        watermark = ledger.watermark
        yield _gauge(
            "turnmeter_turn_month_egress_bytes",
            "Egress of this UTC month's settled minutes (the account)",
            ledger.month_egress,
        )
        yield _gauge(
            "turnmeter_turn_month_ingress_bytes",
            "Ingress of this UTC month's settled minutes (the account)",
            ledger.month_ingress,
        )
        cost = pricing.month_cost(ledger.month_egress)
        yield _gauge(
            "turnmeter_turn_month_cost_usd",
            "What this month's settled egress costs after the free tier (USD)",
            float(cost),
        )
        yield _gauge(
            "turnmeter_turn_free_tier_bytes",
            "The monthly free tier (bytes; shared by TURN and the SFU)",
            int(pricing.free_tier_gb * BYTES_PER_GB),
        )
        yield _gauge(
            "turnmeter_turn_free_tier_left_bytes",
            "Free tier bytes left this month",
            pricing.free_tier_left_bytes(ledger.month_egress),
        )
        forecast = _forecast(ledger.month_egress, watermark)
        yield _gauge(
            "turnmeter_turn_month_forecast_egress_bytes",
            "This month's egress at the month-to-date rate (linear, from settled minutes)",
            forecast,
        )
        yield _gauge(
            "turnmeter_turn_month_forecast_cost_usd",
            "What the forecast egress would cost after the free tier (USD)",
            float(pricing.month_cost(forecast)),
        )
        yield _gauge(
            "turnmeter_turn_price_per_gb_usd",
            "The price per GB of egress the cost gauges use (USD)",
            float(pricing.price_per_gb),
        )
        if settings.budget_usd is not None:
            budget = settings.budget_usd
            yield _gauge("turnmeter_turn_budget_usd", "The monthly budget (USD)", float(budget))
            yield _gauge(
                "turnmeter_turn_budget_left_usd",
                "Budget left this month (USD; at or below 0 is over budget)",
                float(budget - cost),
            )
            yield _gauge(
                "turnmeter_turn_over_budget",
                "1 once this month's cost has reached the budget (turnmeter budget's rule)",
                int(is_over_budget(cost, budget)),
            )
        yield _gauge(
            "turnmeter_turn_watermark_timestamp_seconds",
            "Everything before this instant is counted (the end of the last settled minute)",
            watermark.timestamp(),
        )
        yield _gauge(
            "turnmeter_turn_data_age_seconds",
            "Now minus the watermark: grows by the settle delay plus any time polls failed",
            max(0.0, (now - watermark).total_seconds()),
        )

    def _self_metrics(self) -> Iterator[Metric]:
        poller = self.poller
        stats, queries = poller.stats, poller.fetcher.stats
        yield _counter(
            "turnmeter_exporter_queries",
            "GraphQL requests the exporter's polls sent to Cloudflare",
            queries.sent,
        )
        yield _counter(
            "turnmeter_exporter_queries_refused",
            "Requests refused for rate (the shared client budget or Cloudflare's)",
            queries.refused_for_rate,
        )
        errors = CounterMetricFamily(
            "turnmeter_exporter_errors", "Failed polls by error family", labels=["family"]
        )
        for family, count in stats.errors.items():
            errors.add_metric([family], count)
        yield errors
        polls = CounterMetricFamily(
            "turnmeter_exporter_polls", "Polls by outcome", labels=["outcome"]
        )
        polls.add_metric(["ok"], stats.polls_ok)
        polls.add_metric(["failed"], stats.polls_failed)
        yield polls
        yield _gauge(
            "turnmeter_exporter_consecutive_failures",
            "Polls failed in a row (healthz is degraded at the configured number)",
            stats.consecutive_failures,
        )
        yield _gauge(
            "turnmeter_exporter_healthy", "1 unless healthz is degraded", int(poller.healthy)
        )
        yield _gauge(
            "turnmeter_exporter_last_success_timestamp_seconds",
            "Wall-clock time of the last successful poll (0: none yet)",
            stats.last_success or 0.0,
        )
        yield _gauge(
            "turnmeter_exporter_poll_duration_seconds",
            "How long the last poll took",
            stats.last_duration or 0.0,
        )
        yield _gauge(
            "turnmeter_exporter_series",
            "Label sets the counters expose (bounded by the top-N cap)",
            sum(1 for _ in poller.ledger.exposed()),
        )
        yield _gauge(
            "turnmeter_exporter_scrape_timestamp_seconds",
            "Wall-clock time of this scrape",
            time.time(),
        )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)


def _forecast(month_egress: int, watermark: datetime) -> int:
    start, end = month_start(watermark), next_month(watermark)
    counted = (watermark - start).total_seconds()
    if counted <= 0:
        return month_egress
    return int(Decimal(month_egress) * Decimal((end - start).total_seconds()) / Decimal(counted))


def build_registry(poller: Poller) -> CollectorRegistry:
    """A registry with only the exporter's collector (no process or GC metrics of Python)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ExporterCollector(poller))
    return registry


def render(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """The exposition the ``Accept`` header asks for: OpenMetrics when it says so, else text."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type
