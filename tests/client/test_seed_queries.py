"""The four seed queries and the total, checked against sums computed here from the raw rows."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from tests.usage_data import CUSTOMERS, KEYS, NOW, START, usage_rows
from turnmeter import (
    CustomerKeyUsage,
    CustomerUsage,
    KeyUsage,
    OrderBy,
    SeriesPoint,
    TurnUsage,
    UsageTotals,
)

SINCE, UNTIL = START, NOW
ROWS = [r for r in usage_rows() if SINCE <= r.minute < UNTIL]


def egress_by(attribute: str, rows=ROWS) -> Counter[str]:
    totals: Counter[str] = Counter()
    for row in rows:
        totals[getattr(row, attribute)] += row.egress_bytes
    return totals


async def test_top_keys_by_egress(turn: TurnUsage) -> None:
    expected = [KeyUsage(k, v) for k, v in egress_by("key_id").most_common(2)]
    assert await turn.top_keys(SINCE, UNTIL, limit=2) == expected


async def test_top_custom_identifiers(turn: TurnUsage) -> None:
    expected = [CustomerUsage(c, v) for c, v in egress_by("custom_identifier").most_common()]
    assert len(expected) == len(CUSTOMERS)
    assert await turn.top_custom_identifiers(SINCE, UNTIL, limit=100) == expected


async def test_usage_for_custom_identifier(turn: TurnUsage) -> None:
    tango = [r for r in ROWS if r.custom_identifier == "tango"]
    per_key = egress_by("key_id", tango)
    got = await turn.usage_for_custom_identifier("tango", SINCE, UNTIL)
    assert sorted(got, key=lambda u: u.key_id) == [
        CustomerKeyUsage("tango", key, total) for key, total in sorted(per_key.items())
    ]


async def test_timeseries_adds_rows_sharing_a_minute(turn: TurnUsage) -> None:
    per_minute = Counter()
    for row in ROWS:
        per_minute[row.minute] += row.egress_bytes
    expected = [SeriesPoint(m, per_minute[m]) for m in sorted(per_minute)]
    got = await turn.timeseries(SINCE, UNTIL)
    assert got == expected
    assert len(per_minute) < len(ROWS)  # the data really has a shared minute


async def test_total_sums_both_directions(turn: TurnUsage) -> None:
    expected = UsageTotals(sum(r.egress_bytes for r in ROWS), sum(r.ingress_bytes for r in ROWS))
    assert await turn.total(SINCE, UNTIL) == expected


async def test_total_of_an_empty_range_is_zero(turn: TurnUsage) -> None:
    empty_since = NOW - timedelta(days=30)
    assert await turn.total(empty_since, empty_since + timedelta(days=1)) == UsageTotals(0, 0)


async def test_range_is_half_open(turn: TurnUsage) -> None:
    first, second = sorted({r.minute for r in ROWS})[:2]
    got = await turn.timeseries(first, second)
    assert [p.minute for p in got] == [first]


async def test_one_value_filter(turn: TurnUsage) -> None:
    key = KEYS[1]
    rows = [r for r in ROWS if r.key_id == key]
    expected = egress_by("custom_identifier", rows).most_common()
    got = await turn.top_custom_identifiers(SINCE, UNTIL, limit=10, key_id=key)
    assert got == [CustomerUsage(c, v) for c, v in expected]


async def test_several_values_become_in(turn: TurnUsage) -> None:
    chosen = {"custom-id-333", "tango"}
    rows = [r for r in ROWS if r.custom_identifier in chosen and r.datacenter_country != "JP"]
    expected = egress_by("key_id", rows).most_common()
    got = await turn.top_keys(
        SINCE,
        UNTIL,
        limit=10,
        custom_identifier=sorted(chosen),
        country=["DE", "US"],
    )
    assert got == [KeyUsage(k, v) for k, v in expected]


async def test_order_by_friendly_and_enum_agree(turn: TurnUsage) -> None:
    ascending = await turn.top_keys(SINCE, UNTIL, order_by="egress")
    by_enum = await turn.top_keys(SINCE, UNTIL, order_by=[OrderBy.sum_egressBytes_ASC])
    assert ascending == by_enum
    assert [k.egress_bytes for k in ascending] == sorted(egress_by("key_id").values())


async def test_order_by_dimension(turn: TurnUsage) -> None:
    got = await turn.top_custom_identifiers(SINCE, UNTIL, order_by="-custom_identifier")
    assert [c.custom_identifier for c in got] == sorted(CUSTOMERS, reverse=True)


async def test_limits_come_from_the_server(turn: TurnUsage) -> None:
    limits = await turn.limits()
    assert limits.max_page_size == 10_000
    assert limits.max_duration == timedelta(days=31)
    assert limits.not_older_than == timedelta(days=92)
    assert limits.enabled
