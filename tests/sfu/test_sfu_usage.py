"""SFU totals, top apps, series and DSL queries against the sandbox, each equal to sums computed
here from the sandbox's raw SFU rows."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from tests.sfu.conftest import NOW
from turnmeter import ConfigError, QueryError, TruncatedResult, TurnUsage
from turnmeter.query import F, Query
from turnmeter.query.datasets import SFU, SfuF
from turnmeter.sandbox import Sandbox
from turnmeter.sfu import AppUsage, SfuSeriesPoint, SfuUsage

SINCE, UNTIL = NOW - timedelta(days=3), NOW - timedelta(hours=2)


def _rows(realtime: Sandbox, **where: str) -> list:
    return [
        r
        for r in realtime.sfu_rows()
        if SINCE <= r.minute < UNTIL and all(getattr(r, k) == v for k, v in where.items())
    ]


async def test_total_equals_the_raw_rows(turn: TurnUsage, realtime: Sandbox) -> None:
    rows = _rows(realtime)
    assert rows
    total = await SfuUsage(turn).total(SINCE, UNTIL)
    assert total.egress_bytes == sum(r.egress_bytes for r in rows)
    assert total.ingress_bytes == sum(r.ingress_bytes for r in rows)


async def test_filtered_total(turn: TurnUsage, realtime: Sandbox) -> None:
    rows = _rows(realtime, track_type="audio")
    total = await SfuUsage(turn).total(SINCE, UNTIL, track_type="audio")
    assert total.egress_bytes == sum(r.egress_bytes for r in rows)


async def test_top_apps_equal_the_raw_rows(turn: TurnUsage, realtime: Sandbox) -> None:
    egress: Counter[str] = Counter()
    ingress: Counter[str] = Counter()
    for row in _rows(realtime):
        egress[row.app_id] += row.egress_bytes
        ingress[row.app_id] += row.ingress_bytes
    expected = [AppUsage(app, e, ingress[app]) for app, e in egress.most_common()]
    assert len(expected) > 1
    assert await SfuUsage(turn).top_apps(SINCE, UNTIL, limit=10) == expected
    assert await SfuUsage(turn).top_apps(SINCE, UNTIL, limit=1) == expected[:1]
    ascending = await SfuUsage(turn).top_apps(SINCE, UNTIL, order_by="egress")
    assert ascending == expected[::-1]


async def test_series_equals_the_raw_rows(turn: TurnUsage, realtime: Sandbox) -> None:
    egress: Counter = Counter()
    ingress: Counter = Counter()
    for row in _rows(realtime):
        egress[row.minute] += row.egress_bytes
        ingress[row.minute] += row.ingress_bytes
    expected = [SfuSeriesPoint(m, egress[m], ingress[m]) for m in sorted(egress)]
    assert await SfuUsage(turn).timeseries(SINCE, UNTIL) == expected
    with pytest.raises(TruncatedResult) as caught:
        await SfuUsage(turn).timeseries(SINCE, UNTIL, limit=5)
    assert caught.value.rows == expected[:5]


async def test_dsl_query_on_the_sfu_dataset(turn: TurnUsage, realtime: Sandbox) -> None:
    sums: Counter = Counter()
    for row in _rows(realtime):
        if row.track_type == "video":
            sums[row.app_id, row.minute.replace(minute=0)] += row.egress_bytes
    query = Query(
        dimensions=["app_id", "hour"],
        metrics=["egress_bytes"],
        where=SfuF.track_type == "video",
        dataset=SFU,
    )
    rows = await SfuUsage(turn).query(query, SINCE, UNTIL, clock=lambda: NOW)
    assert {(r.app_id, r.hour): r.egress_bytes for r in rows} == dict(sums)


async def test_sfu_catalog_is_its_own(turn: TurnUsage) -> None:
    with pytest.raises(QueryError, match="unknown SFU dimension 'key_id'"):
        Query(dimensions=["key_id"], dataset=SFU)
    with pytest.raises(QueryError, match="unknown SFU metric 'avg_connections_hour'"):
        Query(dimensions=["hour"], metrics=["avg_connections_hour"], dataset=SFU)
    with pytest.raises(QueryError, match="SFU dataset has no dimension 'key_id'"):
        Query(metrics=["egress_bytes"], where=F.key_id == "k", dataset=SFU)
    with pytest.raises(QueryError, match="SfuUsage"):
        await turn.query(Query(dataset=SFU), SINCE, UNTIL)
    with pytest.raises(ConfigError, match="unknown SFU filter 'key_id'"):
        await SfuUsage(turn).total(SINCE, UNTIL, key_id="x")  # type: ignore[call-arg]


async def test_limits(turn: TurnUsage) -> None:
    limits = await SfuUsage(turn).limits()
    assert limits.enabled
    assert "dimensions_appId" in limits.available_fields
    assert limits.max_page_size == 10_000
