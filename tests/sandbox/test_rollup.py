"""The hourly rollup answers exactly what the raw rows answer, and the usual queries use it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sandbox import brute
from tests.sandbox.rows import NOW, START, awkward_rows
from tests.sandbox.test_property import AVGS, METRIC_ORDERS, SUMS, filters
from turnmeter.sandbox import UsageRow
from turnmeter.sandbox.sql import GroupQuery, decode_rows
from turnmeter.sandbox.store import UsageStore, row_tuple

BOUNDS = ("datetimeMinute", "datetimeFiveMinutes", "datetimeFifteenMinutes")


@pytest.fixture(scope="module")
def store() -> Iterator[UsageStore]:
    found = UsageStore.create(row_tuple(row) for row in awkward_rows())
    yield found
    found.close()


def _answers(store: UsageStore, query: GroupQuery) -> tuple[Any, Any, bool]:
    """(raw answer, answer as the store gives it, whether that read the rollup)."""
    raw_sql, raw_params = store.statement(query, use_rollup=False)
    sql, params = store.statement(query)
    # The store's lock is not needed: the tests run one at a time.
    raw = decode_rows(query, store._db.execute(raw_sql, raw_params).fetchall())
    fast = decode_rows(query, store._db.execute(sql, params).fetchall())
    return raw, fast, "rollup." in sql


@st.composite
def bounds(draw: st.DrawFn) -> dict[str, str]:
    """A top-level range in any minute-level field, aligned to an hour or not."""
    out = {}
    for operator in ("geq", "lt"):
        if draw(st.booleans()):
            minutes = draw(st.integers(-90, 2 * 24 * 60 + 90))
            moment = START + timedelta(minutes=minutes, seconds=draw(st.sampled_from((0, 0, 17))))
            field = draw(st.sampled_from(BOUNDS))
            out[f"{field}_{operator}"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


@st.composite
def group_queries(draw: st.DrawFn) -> GroupQuery:
    dims = tuple(draw(st.lists(st.sampled_from(brute.DIMENSIONS), unique=True, max_size=3)))
    sums = tuple(draw(st.lists(st.sampled_from(SUMS), unique=True, max_size=2)))
    avgs = tuple(draw(st.lists(st.sampled_from(AVGS), unique=True, max_size=2)))
    keys = draw(st.lists(st.sampled_from(METRIC_ORDERS + dims), max_size=2))
    order_by = tuple(f"{k}_{draw(st.sampled_from(('ASC', 'DESC')))}" for k in keys)
    node_filter: dict[str, Any] = draw(bounds())
    if draw(st.booleans()):
        node_filter["AND"] = [draw(filters)]
    limit = draw(st.integers(1, 400))
    return GroupQuery(dims, sums, avgs, node_filter, order_by, limit)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=group_queries())
def test_rollup_answers_equal_raw_answers(store: UsageStore, query: GroupQuery) -> None:
    raw, fast, _ = _answers(store, query)
    assert fast == raw


def test_top_keys_over_days_read_the_rollup(store: UsageStore) -> None:
    window = {
        "datetimeMinute_geq": (START + timedelta(minutes=7, seconds=3)).isoformat(),
        "datetimeMinute_lt": NOW.isoformat(),
    }
    query = GroupQuery(("keyId",), ("egressBytes",), (), window, ("sum_egressBytes_DESC",), 10)
    raw, fast, used = _answers(store, query)
    assert used
    assert fast == raw
    assert len(raw) == 3
    plan = store.explain(query)
    assert any(step.startswith("SEARCH rollup.usage_hour USING COVERING INDEX") for step in plan)


@pytest.mark.parametrize(
    ("dims", "avgs", "extra"),
    [
        (("datetimeMinute",), (), {}),
        (("keyId",), ("concurrentConnectionsFiveMinutes",), {}),
        (("keyId",), (), {"datetimeMinute_gt": START.isoformat()}),
        (("keyId",), (), {"OR": [{"datetimeFifteenMinutes_leq": NOW.isoformat()}]}),
    ],
)
def test_finer_than_an_hour_reads_raw_rows(
    store: UsageStore, dims: tuple[str, ...], avgs: tuple[str, ...], extra: dict[str, Any]
) -> None:
    window = {"datetimeMinute_geq": START.isoformat(), "datetimeMinute_lt": NOW.isoformat()}
    query = GroupQuery(dims, ("egressBytes",), avgs, {**window, **extra}, (), 50)
    raw, fast, used = _answers(store, query)
    assert not used
    assert fast == raw


def _by_customer(store: UsageStore, query: GroupQuery) -> dict[str, int]:
    return {
        g["dimensions"]["customIdentifier"]: g["sum"]["egressBytes"] for g in store.group(query)
    }


def test_late_rows_reach_the_rollup() -> None:
    rows = awkward_rows()
    store = UsageStore.create(row_tuple(row) for row in rows)
    window = {
        "datetimeHour_geq": (START - timedelta(days=1)).isoformat(),
        "datetimeHour_lt": (NOW + timedelta(days=1)).isoformat(),
    }
    query = GroupQuery(("customIdentifier",), ("egressBytes",), (), window, (), 50)
    before = _by_customer(store, query)
    template = rows[0]
    late = [
        UsageRow(
            minute=template.minute + timedelta(minutes=offset),
            key_id=template.key_id,
            username=template.username,
            custom_identifier="late-customer",
            datacenter_city=template.datacenter_city,
            datacenter_code=template.datacenter_code,
            datacenter_country=template.datacenter_country,
            datacenter_region=template.datacenter_region,
            egress_bytes=1000 + offset,
            ingress_bytes=1,
            concurrent_connections=1,
        )
        for offset in (0, 1, 61)
    ] + [template]
    store.add(late)
    after = _by_customer(store, query)
    raw, fast, used = _answers(store, query)
    store.close()
    assert used
    assert fast == raw
    assert after["late-customer"] == 1000 + 1001 + 1061
    assert after[template.custom_identifier] == before[template.custom_identifier] + (
        template.egress_bytes
    )


def test_a_seeded_file_opened_read_only_gets_a_rollup_too(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite"
    UsageStore.create((row_tuple(row) for row in awkward_rows()), path).close()
    store = UsageStore.open(path)
    window = {"datetimeHour_geq": START.isoformat(), "datetimeHour_lt": NOW.isoformat()}
    query = GroupQuery(("keyId",), ("egressBytes",), (), window, ("sum_egressBytes_DESC",), 10)
    raw, fast, used = _answers(store, query)
    with pytest.raises(sqlite3.OperationalError):  # the file belongs to `sandbox seed`
        store.add(awkward_rows()[:1])
    store.close()
    assert used
    assert fast == raw


def test_sums_too_large_for_a_rollup_leave_the_raw_rows_answering() -> None:
    huge = UsageRow(**{**_fields(awkward_rows()[0]), "egress_bytes": 2**63 - 1})
    twice = [huge, huge]  # one minute row each, the same hour and group
    store = UsageStore.create(row_tuple(row) for row in twice)
    query = GroupQuery((), ("ingressBytes",), (), {}, (), 1)
    raw, fast, used = _answers(store, query)
    store.close()
    assert not used  # the rollup could not be built: the same SUM overflows there
    assert fast == raw


def _fields(row: UsageRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in row.__dataclass_fields__}
