"""Property: under small node limits, the split, paged and merged answer equals the single query.

The reference is the same rows in a sandbox whose limits are lifted, asked in ONE request with
the query's own orderBy and limit (so even the order is the server's, not ours).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.query.grid import CUSTOMERS, DATACENTERS, KEYS, NOW, PAGE, START
from turnmeter import TurnUsage
from turnmeter.query import Condition, F, Query

DIMENSION_NAMES = [
    "key_id", "username", "custom_identifier", "datacenter_country", "datacenter_code",
    "date", "minute", "five_minutes", "fifteen_minutes", "hour",
]  # fmt: skip
AVG_FOR = {
    "minute": "avg_connections_minute",
    "five_minutes": "avg_connections_five_minutes",
    "fifteen_minutes": "avg_connections_fifteen_minutes",
    "hour": "avg_connections_hour",
}
REFERENCE_LIMIT = 10_000
PROPERTY_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def clock():
    return NOW


def _leaves() -> st.SearchStrategy[Condition]:
    some_keys = st.lists(st.sampled_from(KEYS), min_size=1, max_size=2, unique=True)
    some_customers = st.lists(st.sampled_from(CUSTOMERS), min_size=1, max_size=2, unique=True)
    countries = st.sampled_from([dc[2] for dc in DATACENTERS])
    return st.one_of(
        some_keys.map(F.key_id.in_),
        st.sampled_from(KEYS).map(lambda key: F.key_id != key),
        st.sampled_from(["u-1%", "bot-%", "%-2", "u-_"]).map(F.username.like),
        st.sampled_from(["bot-%", "u-1_"]).map(F.username.notlike),
        countries.map(lambda country: F.datacenter_country == country),
        some_customers.map(F.custom_identifier.notin),
        st.sampled_from(CUSTOMERS).map(lambda customer: F.custom_identifier >= customer),
        st.integers(0, 48).map(lambda hours: F.hour < START + timedelta(hours=hours)),
        st.integers(0, 2).map(lambda days: F.date == (START + timedelta(days=days)).date()),
    )


CONDITIONS = st.recursive(
    _leaves(),
    lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda pair: pair[0] & pair[1]),
        st.tuples(inner, inner).map(lambda pair: pair[0] | pair[1]),
        inner.map(lambda condition: ~condition),
    ),
    max_leaves=4,
)


@st.composite
def queries(draw: st.DrawFn) -> Query:
    dims = draw(st.lists(st.sampled_from(DIMENSION_NAMES), unique=True, max_size=3))
    if draw(st.booleans()) and not any(d in AVG_FOR for d in dims):
        dims.append(draw(st.sampled_from(["minute", "five_minutes"])))  # many groups: pages
    pool = ["egress_bytes", "ingress_bytes"] + [AVG_FOR[d] for d in dims if d in AVG_FOR]
    metrics = draw(st.lists(st.sampled_from(pool), unique=True, max_size=3))
    if not dims and not metrics:
        metrics = ["egress_bytes"]
    order = draw(st.lists(st.sampled_from(dims + metrics), unique=True, max_size=2))
    order_by = [("-" if draw(st.booleans()) else "") + name for name in order]
    return Query(
        dimensions=dims,
        metrics=metrics,
        where=draw(st.none() | CONDITIONS),
        order_by=order_by,
        limit=draw(st.none() | st.integers(1, 4) | st.integers(1, PAGE)),
    )


@st.composite
def ranges(draw: st.DrawFn) -> tuple:
    offset = draw(st.integers(-120, 48 * 60))  # minutes from START (before it: no rows)
    seconds = draw(st.sampled_from([0, 0, 0, 30]))  # sometimes not on a minute edge
    # minutes: within one 3 h window, or up to 17 of them
    length = draw(st.integers(1, 180) | st.integers(181, 50 * 60) | st.integers(40 * 60, 50 * 60))
    since = START + timedelta(minutes=offset, seconds=seconds)
    return since, since + timedelta(minutes=length)


async def single_query(lifted: TurnUsage, query: Query, since, until) -> list:
    reference = dataclasses.replace(query, limit=query.limit or REFERENCE_LIMIT)
    progress: list[tuple[int, int, int]] = []
    rows = await lifted.query(
        reference, since, until, clock=clock, on_progress=lambda *p: progress.append(p)
    )
    assert progress[-1][:2] == (1, 1)  # really one window
    assert len(rows) < REFERENCE_LIMIT
    return rows


@PROPERTY_SETTINGS
@given(query=queries(), span=ranges())
async def test_split_and_merged_equals_single_query(
    small: TurnUsage, lifted: TurnUsage, query: Query, span: tuple
) -> None:
    since, until = span
    expected = await single_query(lifted, query, since, until)
    progress: list[tuple[int, int, int]] = []
    got = await small.query(
        query, since, until, clock=clock, on_progress=lambda *p: progress.append(p)
    )
    assert got == expected
    windows = progress[-1][1]
    event("one window" if windows == 1 else "several windows")
    event("merged across windows" if windows > 1 and not query.time_dimensions else "whole groups")
    event("paged" if progress[-1][2] > PAGE * windows else "single pages")
    event("limited" if query.limit else "every row")


NON_TIME = [d for d in DIMENSION_NAMES if d not in AVG_FOR and d != "date"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dims=st.lists(st.sampled_from([*NON_TIME, "date"]), min_size=1, max_size=2, unique=True),
    metric=st.sampled_from(["egress_bytes", "ingress_bytes"]),
    descending=st.booleans(),
    limit=st.integers(1, 4),
    where=st.none() | CONDITIONS,
    hours=st.integers(4, 48),
)
async def test_top_n_across_windows_is_cut_from_merged_totals(
    small: TurnUsage,
    lifted: TurnUsage,
    dims: list,
    metric: str,
    descending: bool,
    limit: int,
    where,
    hours: int,
) -> None:
    """Groups spread over many windows: a per-window top N would lose part of their totals."""
    order = ("-" if descending else "") + metric
    query = Query(dimensions=dims, metrics=[metric], where=where, order_by=[order], limit=limit)
    since, until = START, START + timedelta(hours=hours)
    expected = await single_query(lifted, query, since, until)
    assert await small.query(query, since, until, clock=clock) == expected


TIME_FIRST = ["minute", "five_minutes", "fifteen_minutes", "hour"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    time=st.sampled_from(TIME_FIRST),
    other=st.lists(st.sampled_from(["key_id", "username", "datacenter_code"]), max_size=1),
    where=st.none() | CONDITIONS,
    span=ranges(),
)
async def test_stream_yields_the_same_rows_in_time_order(
    small: TurnUsage, lifted: TurnUsage, time: str, other: list, where, span: tuple
) -> None:
    since, until = span
    query = Query(dimensions=[*other, time], metrics=["egress_bytes", AVG_FOR[time]], where=where)
    streamed = [row async for row in small.stream(query, since, until, clock=clock)]
    times = [getattr(row, time) for row in streamed]
    assert times == sorted(times)
    expected = await single_query(lifted, query, since, until)
    assert sorted(streamed, key=lambda r: (getattr(r, time), *r.as_dict().values())) == sorted(
        expected, key=lambda r: (getattr(r, time), *r.as_dict().values())
    )
