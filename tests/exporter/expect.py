"""Independent expectations for the exporter's numbers: brute-force sums over raw sandbox rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from prometheus_client.parser import text_string_to_metric_families

from turnmeter.sandbox.model import UsageRow

OTHER = "__other__"


def expected_counters(
    rows: Iterable[UsageRow], since: datetime, until: datetime, *, top: int
) -> dict[tuple[str, str], tuple[int, int]]:
    """(key_id, custom_identifier or __other__) -> (egress, ingress) over ``[since, until)``."""
    chosen = [row for row in rows if since <= row.minute < until]
    by_customer: dict[str, int] = defaultdict(int)
    for row in chosen:
        by_customer[row.custom_identifier] += row.egress_bytes
    members = set(sorted(by_customer, key=lambda c: (-by_customer[c], c))[:top])
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in chosen:
        customer = row.custom_identifier if row.custom_identifier in members else OTHER
        cell = sums[(row.key_id, customer)]
        cell[0] += row.egress_bytes
        cell[1] += row.ingress_bytes
    return {key: (cell[0], cell[1]) for key, cell in sums.items()}


def scraped_counters(text: str) -> dict[tuple[str, str], tuple[int, int]]:
    """The same mapping, read from a /metrics body (Prometheus text format)."""
    values: dict[str, dict[tuple[str, str], int]] = {"egress": {}, "ingress": {}}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            for what in values:
                if sample.name == f"turnmeter_turn_{what}_bytes_total":
                    key = (sample.labels["key_id"], sample.labels["custom_identifier"])
                    values[what][key] = int(sample.value)
    return {key: (egress, values["ingress"][key]) for key, egress in values["egress"].items()}


def gauge(text: str, name: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                return float(sample.value)
    return None
