"""The ledger's rules under any sequence of segments (hypothesis): counters never go down,
every byte lands in exactly one series, and the exposed series stay within (N + 1) x keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from turnmeter.exporter.ledger import Ledger, Segment
from turnmeter.exporter.settings import LABELS, OTHER

START = datetime(2024, 8, 1, tzinfo=UTC)
KEYS = ("k1", "k2", "k3")
CUSTOMERS = tuple(f"c{i}" for i in range(12))

usage = st.dictionaries(
    st.tuples(st.sampled_from(KEYS), st.sampled_from(CUSTOMERS)),
    st.tuples(st.integers(0, 10**12), st.integers(0, 10**12)),
    max_size=20,
)


@settings(max_examples=100, deadline=None)
@given(segments=st.lists(usage, min_size=1, max_size=15), top=st.integers(1, 6))
def test_counters_grow_and_partition_the_usage(
    segments: list[dict[tuple[str, str], tuple[int, int]]], top: int
) -> None:
    ledger = Ledger(labels=LABELS, top_customers=top, watermark=START)
    previous: dict[tuple[str, str], list[int]] = {}
    total = [0, 0]
    for index, pairs in enumerate(segments):
        start = START + timedelta(minutes=index)
        ledger.apply(ledger.plan(Segment(start, start + timedelta(minutes=1), pairs, {})))
        for egress, ingress in pairs.values():
            total[0] += egress
            total[1] += ingress
        for key, cell in previous.items():  # no counter ever goes down
            assert ledger.counters[key][0] >= cell[0]
            assert ledger.counters[key][1] >= cell[1]
        previous = {key: list(cell) for key, cell in ledger.counters.items()}
        # Every byte in exactly one stored series.
        assert [
            sum(c[0] for c in ledger.counters.values()),
            sum(c[1] for c in ledger.counters.values()),
        ] == total
        exposed = list(ledger.exposed())
        assert len(exposed) <= (top + 1) * len(KEYS)
        assert {c for _, c in exposed} - {OTHER} <= ledger.members
        assert len(ledger.members) <= top
        # The members are the top N by month-to-date egress.
        ranked = sorted(ledger.customer_egress.items(), key=lambda c: (-c[1], c[0]))
        assert ledger.members == {c for c, _ in ranked[:top]}
        assert ledger.month_egress == total[0]
