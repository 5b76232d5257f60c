"""SFU: random queries over HTTP against the independent brute-force aggregation of raw rows.

The mirror of ``test_property.py`` for ``callsUsageAdaptiveGroups``: the SFU's own dimensions,
``sum`` only (the node has no ``avg``), every filter operator, nested AND/OR, fragments.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sandbox import brute
from tests.sandbox.conftest import SECRET, post
from tests.sandbox.rows import NOW, START, awkward_rows
from tests.sandbox.sfu_rows import (
    APPS,
    SESSIONS,
    SFU_STRING_FIELDS,
    TRACK_TYPES,
    TRACKS,
    awkward_sfu_rows,
)
from tests.sandbox.test_property import TIME_OPS, _merge, _time_text, time_values
from turnmeter.sandbox import Sandbox, SandboxConfig

VALUES = {
    "appId": (*APPS, "", "app", "APP_1"),
    "sessionId": (*SESSIONS, "s"),
    "trackId": (*TRACKS, "t"),
    "trackType": (*TRACK_TYPES, "data"),
}
SFU_DIMENSIONS = (*SFU_STRING_FIELDS, "date", *brute.TIME_WIDTHS)
STRING_OPS = ("", "neq", "gt", "geq", "lt", "leq", "in", "notin", "like", "notlike")
SUMS = ("egressBytes", "ingressBytes")
QUERY = """
query RandomSfu(
  $tag: string!
  $filter: AccountCallsUsageAdaptiveGroupsFilter_InputObject!
  $limit: uint64!
  $orderBy: [AccountCallsUsageAdaptiveGroupsOrderBy!]
) {
  viewer {
    accounts(filter: { accountTag: $tag }) {
      rows: callsUsageAdaptiveGroups(filter: $filter, limit: $limit, orderBy: $orderBy) { %s }
    }
  }
}
%s
"""


@pytest.fixture(scope="module")
async def sfu_sandbox() -> AsyncIterator[Sandbox]:
    config = SandboxConfig(
        token=SECRET, now=NOW, rows=awkward_rows(), sfu_rows=awkward_sfu_rows(), rate_limit=None
    )
    async with Sandbox(config) as server:
        yield server


@st.composite
def leaves(draw: st.DrawFn) -> dict[str, Any]:
    field = draw(st.sampled_from(SFU_DIMENSIONS))
    if field in VALUES:
        op = draw(st.sampled_from(STRING_OPS))
        if op in ("like", "notlike"):
            chars = list(draw(st.sampled_from(VALUES[field])))
            for index in draw(st.lists(st.integers(0, max(len(chars) - 1, 0)), max_size=2)):
                if chars:
                    chars[index] = draw(st.sampled_from(("%", "_", "\\%", "\\_")))
            value: Any = "".join(chars)
        elif op in ("in", "notin"):
            value = draw(st.lists(st.sampled_from(VALUES[field]), max_size=3))
        else:
            value = draw(st.sampled_from(VALUES[field]))
    else:
        op = draw(st.sampled_from(TIME_OPS))
        many = op in ("in", "notin")
        value = draw(st.lists(time_values(field), max_size=3)) if many else draw(time_values(field))
    return {f"{field}_{op}" if op else field: value}


filters = st.recursive(
    leaves(),
    lambda children: st.lists(
        st.one_of(
            children,
            st.builds(lambda items: {"AND": items}, st.lists(children, max_size=3)),
            st.builds(lambda items: {"OR": items}, st.lists(children, max_size=3)),
        ),
        min_size=1,
        max_size=3,
    ).map(_merge),
    max_leaves=5,
)


@st.composite
def node_queries(draw: st.DrawFn) -> dict[str, Any]:
    dims = draw(st.lists(st.sampled_from(SFU_DIMENSIONS), unique=True, max_size=4))
    sums = draw(st.lists(st.sampled_from(SUMS), unique=True, max_size=2)) or (
        [] if dims else ["egressBytes"]
    )
    keys = draw(st.lists(st.sampled_from((*(f"sum_{s}" for s in SUMS), *dims)), max_size=3))
    order_by = [f"{k}_{draw(st.sampled_from(('ASC', 'DESC')))}" for k in keys]
    return {
        "dims": dims,
        "sums": sums,
        "filter": draw(filters),
        "order_by": order_by,
        "limit": draw(st.integers(1, 40)),
        "fragment": draw(st.booleans()),
    }


def _query_text(q: dict[str, Any]) -> str:
    blocks, fragments = [], ""
    if q["dims"]:
        fields = " ".join(q["dims"])
        if q["fragment"]:
            blocks.append("dimensions { ...Dims }")
            fragments = f"fragment Dims on AccountCallsUsageAdaptiveGroupsDimensions {{ {fields} }}"
        else:
            blocks.append(f"dimensions {{ {fields} }}")
    if q["sums"]:
        blocks.append(f"sum {{ {' '.join(q['sums'])} }}")
    return QUERY % (" ".join(blocks), fragments)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(q=node_queries())
async def test_random_sfu_queries_match_brute_force(
    http: aiohttp.ClientSession, sfu_sandbox: Sandbox, q: dict[str, Any]
) -> None:
    window = {
        "datetimeMinute_geq": _time_text(START - timedelta(minutes=1)),
        "datetimeMinute_lt": _time_text(NOW),
    }
    node_filter = {**window, "AND": [q["filter"]]}
    variables = {
        "tag": sfu_sandbox.config.account_tag,
        "filter": node_filter,
        "limit": q["limit"],
        "orderBy": q["order_by"],
    }
    status, body = await post(http, sfu_sandbox, _query_text(q), variables)
    assert status == 200, body
    assert body["errors"] is None
    expected = brute.aggregate(
        sfu_sandbox.sfu_rows(),
        node_filter,
        q["dims"],
        q["sums"],
        (),
        q["order_by"],
        q["limit"],
        SFU_STRING_FIELDS,
    )
    assert body["data"]["viewer"]["accounts"][0]["rows"] == expected
