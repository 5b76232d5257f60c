"""``turnmeter exporter``: Prometheus metrics for TURN usage whose numbers are right.

Modules: :mod:`~turnmeter.exporter.settings` (what to keep, how often), ``state`` (the SQLite
state file), ``ledger`` (counters, month-to-date, the top-N cap), ``fetch`` (one grouped request
per settled segment), ``poller`` (the schedule, failures), ``metrics`` (the prometheus_client
collector) and ``app`` (aiohttp: ``/metrics``, ``/healthz``). Needs the ``exporter`` extra
(``prometheus_client``).
"""

from __future__ import annotations

from turnmeter.exporter.settings import (
    DEFAULT_LISTEN,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_SETTLE_DELAY,
    DEFAULT_TOP_CUSTOMERS,
    LABELS,
    OTHER,
    ExporterSettings,
)

__all__ = [
    "DEFAULT_LISTEN",
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_SETTLE_DELAY",
    "DEFAULT_TOP_CUSTOMERS",
    "LABELS",
    "OTHER",
    "Exporter",
    "ExporterSettings",
]


def __getattr__(name: str) -> object:
    # Exporter pulls in prometheus_client (an extra): only when asked for.
    if name == "Exporter":
        from turnmeter.exporter.app import Exporter

        return Exporter
    raise AttributeError(name)
