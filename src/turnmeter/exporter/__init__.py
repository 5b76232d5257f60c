"""``turnmeter exporter``: Prometheus metrics for TURN usage whose numbers are right.

Modules: :mod:`~turnmeter.exporter.settings` (what to keep, how often), ``state`` (the SQLite
state file), ``ledger`` (counters, month-to-date, the top-N cap), ``fetch`` (one grouped request
per settled segment), ``poller`` (the schedule, failures), ``metrics`` (the prometheus_client
collectors, the per-poll rendered snapshot) and ``app`` (aiohttp: ``/metrics``, ``/healthz``).
Serving needs the ``exporter`` extra (``prometheus_client``); every module imports without it.
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
from turnmeter.lazy import lazy_getattr

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


# Exporter pulls in the client and aiohttp: settings alone stay cheap to import.
__getattr__ = lazy_getattr(__name__, {"turnmeter.exporter.app": ("Exporter",)}, globals())
