"""Random queries over HTTP against an independent brute-force aggregation of the raw rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import aiohttp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sandbox import brute
from tests.sandbox.conftest import post
from tests.sandbox.rows import CUSTOMERS, DATACENTERS, KEYS, NOW, START, USERNAMES
from turnmeter.sandbox import Sandbox

STRING_VALUES = {
    "customIdentifier": (*CUSTOMERS, "", "cust", "yankee"),
    "keyId": (*KEYS, "k", "k4"),
    "username": (*USERNAMES, "u", "u-z"),
    "datacenterCity": (*(d[0] for d in DATACENTERS), "Paris"),
    "datacenterCode": (*(d[1] for d in DATACENTERS), "AMS"),
    "datacenterCountry": (*(d[2] for d in DATACENTERS), "FR"),
    "datacenterRegion": (*(d[3] for d in DATACENTERS), "OC"),
}
STRING_OPS = ("", "neq", "gt", "geq", "lt", "leq", "in", "notin", "like", "notlike")
TIME_OPS = ("", "neq", "gt", "geq", "lt", "leq", "in", "notin")
SUMS = ("egressBytes", "ingressBytes")
AVGS = tuple(brute.AVG_WIDTHS)
METRIC_ORDERS = tuple(f"sum_{s}" for s in SUMS) + tuple(f"avg_{a}" for a in AVGS)

QUERY = """
query Random(
  $tag: string!
  $filter: AccountCallsTurnUsageAdaptiveGroupsFilter_InputObject!
  $limit: uint64!
  $orderBy: [AccountCallsTurnUsageAdaptiveGroupsOrderBy!]
) {
  viewer {
    accounts(filter: { accountTag: $tag }) {
      rows: callsTurnUsageAdaptiveGroups(filter: $filter, limit: $limit, orderBy: $orderBy) {
        %s
      }
    }
  }
}
%s
"""


def _time_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@st.composite
def like_patterns(draw: st.DrawFn, field: str) -> str:
    """A LIKE pattern made from a real value: wildcards swapped in, case changed, escapes."""
    chars = list(draw(st.sampled_from(STRING_VALUES[field])))
    for index in draw(st.lists(st.integers(0, max(len(chars) - 1, 0)), max_size=3)):
        if chars:
            chars[index] = draw(st.sampled_from(("%", "_", "\\%", "\\_", chars[index].upper())))
    if draw(st.booleans()):
        chars.append("%")
    return "".join(chars)


@st.composite
def time_values(draw: st.DrawFn, field: str) -> str:
    """Bucket-aligned times from the data's span, or arbitrary seconds in it."""
    if field == "date":
        return draw(
            st.sampled_from([(START + timedelta(days=d)).date().isoformat() for d in range(3)])
        )
    offset = timedelta(minutes=draw(st.integers(0, 2 * 24 * 60)))
    moment = brute.truncate(START + offset, brute.TIME_WIDTHS[field])
    if draw(st.booleans()):
        moment += timedelta(seconds=draw(st.integers(0, 59)))
    return _time_text(moment)


@st.composite
def leaves(draw: st.DrawFn) -> dict[str, Any]:
    """One filter key with its value."""
    field = draw(st.sampled_from(brute.DIMENSIONS))
    if field in STRING_VALUES:
        op = draw(st.sampled_from(STRING_OPS))
        if op in ("like", "notlike"):
            value: Any = draw(like_patterns(field))
        elif op in ("in", "notin"):
            value = draw(st.lists(st.sampled_from(STRING_VALUES[field]), max_size=3))
        else:
            value = draw(st.sampled_from(STRING_VALUES[field]))
    else:
        op = draw(st.sampled_from(TIME_OPS))
        if op in ("in", "notin"):
            value = draw(st.lists(time_values(field), max_size=3))
        else:
            value = draw(time_values(field))
    return {f"{field}_{op}" if op else field: value}


def _merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for part in parts:
        merged.update(part)
    return merged


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
    max_leaves=6,
)


@st.composite
def node_queries(draw: st.DrawFn) -> dict[str, Any]:
    """Dimensions, metrics, filter, orderBy, limit, and how the selection is spelled."""
    dims = draw(st.lists(st.sampled_from(brute.DIMENSIONS), unique=True, max_size=4))
    sums = draw(st.lists(st.sampled_from(SUMS), unique=True, max_size=2))
    avgs = draw(st.lists(st.sampled_from(AVGS), unique=True, max_size=2))
    if not (dims or sums or avgs):
        sums = ["egressBytes"]
    orderable = METRIC_ORDERS + tuple(dims)
    keys = draw(st.lists(st.sampled_from(orderable), max_size=3))
    order_by = [f"{k}_{draw(st.sampled_from(('ASC', 'DESC')))}" for k in keys]
    return {
        "dims": dims,
        "sums": sums,
        "avgs": avgs,
        "filter": draw(filters),
        "order_by": order_by,
        "limit": draw(st.integers(1, 40)),
        "fragment": draw(st.booleans()),
        "inline": draw(st.booleans()),
    }


def _query_text(q: dict[str, Any]) -> str:
    blocks, fragments = [], ""
    if q["dims"]:
        fields = " ".join(q["dims"])
        if q["fragment"]:
            blocks.append("dimensions { ...Dims }")
            fragments = (
                f"fragment Dims on AccountCallsTurnUsageAdaptiveGroupsDimensions {{ {fields} }}"
            )
        else:
            blocks.append(f"dimensions {{ {fields} }}")
    metrics = []
    if q["sums"]:
        metrics.append(f"sum {{ {' '.join(q['sums'])} }}")
    if q["avgs"]:
        metrics.append(f"avg {{ {' '.join(q['avgs'])} }}")
    if q["inline"] and metrics:
        blocks.append(f"... on AccountCallsTurnUsageAdaptiveGroups {{ {' '.join(metrics)} }}")
    else:
        blocks.extend(metrics)
    return QUERY % (" ".join(blocks), fragments)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(q=node_queries())
async def test_random_queries_match_brute_force(
    http: aiohttp.ClientSession, awkward: Sandbox, q: dict[str, Any]
) -> None:
    window = {
        "datetimeMinute_geq": _time_text(START - timedelta(minutes=1)),
        "datetimeMinute_lt": _time_text(NOW),
    }
    node_filter = {**window, "AND": [q["filter"]]}
    variables = {
        "tag": awkward.config.account_tag,
        "filter": node_filter,
        "limit": q["limit"],
        "orderBy": q["order_by"],
    }
    status, body = await post(http, awkward, _query_text(q), variables)
    assert status == 200, body
    assert body["errors"] is None
    expected = brute.aggregate(
        awkward.rows(), node_filter, q["dims"], q["sums"], q["avgs"], q["order_by"], q["limit"]
    )
    assert body["data"]["viewer"]["accounts"][0]["rows"] == expected
