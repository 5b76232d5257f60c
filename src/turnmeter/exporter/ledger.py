"""The exporter's numbers in memory: counters per label set, this month's usage, the top N.

Counters only ever grow. Each settled segment's usage is added to the label set it belongs to
*now*: a customer among the top N by month-to-date egress gets its own series, the others are
added to ``custom_identifier="__other__"`` of their key. A customer that enters the top N starts
its own series there (what it used before stays in ``__other__``); one that drops out stops
being exposed, and its stored value is resumed if it comes back. So every byte is in exactly one
series, sums over customers are exact, and no series ever goes down.

A change is planned first (:meth:`Ledger.plan`), written to the state file, and only then
applied here (:meth:`Ledger.apply`): a failed write leaves memory as it was.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from turnmeter.exporter.settings import OTHER

#: (key_id, custom_identifier); a label that is not kept is "".
LabelKey = tuple[str, str]
#: [egress bytes, ingress bytes]
Pair = tuple[int, int]


def month_of(moment: datetime) -> str:
    """The UTC month ``moment`` is in, as ``YYYY-MM``."""
    return f"{moment.year:04d}-{moment.month:02d}"


@dataclass(frozen=True, slots=True)
class Segment:
    """What Cloudflare answered for the settled minutes ``[start, end)``, all in one month.

    ``usage`` sums egress and ingress per raw label set; ``connections`` is the average number
    of concurrent connections per raw label set in the last minute (``end`` minus a minute).
    """

    start: datetime
    end: datetime
    usage: Mapping[LabelKey, Pair]
    connections: Mapping[LabelKey, int]


@dataclass(frozen=True, slots=True)
class Plan:
    """A segment turned into changes: what the state file and the ledger add, in one step."""

    segment: Segment
    month: str
    new_month: bool
    counter_deltas: Mapping[LabelKey, Pair]
    members: frozenset[str]


class Ledger:
    """Counters, month-to-date usage and the top-N membership of one account."""

    def __init__(
        self,
        *,
        labels: tuple[str, ...],
        top_customers: int,
        watermark: datetime,
        month: str | None = None,
        counters: Mapping[LabelKey, Pair] | None = None,
        month_usage: Mapping[LabelKey, Pair] | None = None,
    ) -> None:
        self.labels = labels
        self.top_customers = top_customers
        self.by_customer = "custom_identifier" in labels
        self.watermark = watermark
        # The month ``month_usage`` belongs to: a watermark at midnight on the 1st still holds
        # the month before, until the new month's first segment.
        self.month = month or month_of(watermark)
        self.counters: dict[LabelKey, list[int]] = {
            key: list(pair) for key, pair in (counters or {}).items()
        }
        self.month_usage: dict[LabelKey, list[int]] = {}
        self.customer_egress: dict[str, int] = {}
        self.month_egress = 0
        self.month_ingress = 0
        for key, (egress, ingress) in (month_usage or {}).items():
            self._add_month(key, egress, ingress)
        self.members = self._top(self.customer_egress)
        #: Average concurrent connections of the last settled minute, by exposed label set.
        self.connections: dict[LabelKey, int] = {}
        self.connections_minute: datetime | None = None

    def _add_month(self, key: LabelKey, egress: int, ingress: int) -> None:
        cell = self.month_usage.get(key)
        if cell is None:
            self.month_usage[key] = [egress, ingress]
        else:
            cell[0] += egress
            cell[1] += ingress
        customer = key[1]
        self.customer_egress[customer] = self.customer_egress.get(customer, 0) + egress
        self.month_egress += egress
        self.month_ingress += ingress

    def _top(self, egress: Mapping[str, int]) -> frozenset[str]:
        if not self.by_customer:
            return frozenset()
        # Largest month-to-date egress first; ties go to the smaller name, so it is stable.
        best = heapq.nsmallest(self.top_customers, egress.items(), key=lambda c: (-c[1], c[0]))
        return frozenset(customer for customer, _ in best)

    def label_of(self, key: LabelKey, members: frozenset[str]) -> LabelKey:
        """The exposed label set a raw label set's usage is added to."""
        if not self.by_customer or key[1] in members:
            return key
        return (key[0], OTHER)

    def plan(self, segment: Segment) -> Plan:
        """The changes ``segment`` makes, without making them."""
        month = month_of(segment.start)
        new_month = month != self.month
        egress = {} if new_month else dict(self.customer_egress)
        for (_, customer), (delta, _) in segment.usage.items():
            egress[customer] = egress.get(customer, 0) + delta
        members = self._top(egress)
        deltas: dict[LabelKey, list[int]] = {}
        for key, (out, into) in segment.usage.items():
            cell = deltas.setdefault(self.label_of(key, members), [0, 0])
            cell[0] += out
            cell[1] += into
        return Plan(
            segment,
            month,
            new_month,
            {key: (cell[0], cell[1]) for key, cell in deltas.items()},
            members,
        )

    def apply(self, plan: Plan) -> None:
        """Make the planned changes (after the state file has them)."""
        if plan.new_month:
            self.month_usage.clear()
            self.customer_egress.clear()
            self.month_egress = self.month_ingress = 0
            self.month = plan.month
        for key, (egress, ingress) in plan.segment.usage.items():
            self._add_month(key, egress, ingress)
        for key, (egress, ingress) in plan.counter_deltas.items():
            cell = self.counters.setdefault(key, [0, 0])
            cell[0] += egress
            cell[1] += ingress
        self.members = plan.members
        self.watermark = plan.segment.end
        connections: dict[LabelKey, int] = dict.fromkeys(self.exposed(), 0)
        for key, value in plan.segment.connections.items():
            label = self.label_of(key, plan.members)
            connections[label] = connections.get(label, 0) + value
        self.connections = connections
        self.connections_minute = plan.segment.end

    def exposed(self) -> Iterable[LabelKey]:
        """The label sets with a series: every key's top-N customers and its ``__other__``."""
        for key in self.counters:
            if not self.by_customer or key[1] == OTHER or key[1] in self.members:
                yield key
