"""The TURN groups SQLite writes as JSON are, byte for byte, what graphql-core's own completion
sends: the same selection is asked of a sandbox answering normally and of one whose engine
completes with graphql-core's plain executor, over HTTP, on the same data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import aiohttp
import orjson
import pytest
from graphql import GraphQLObjectType
from graphql.execution import ExecutionContext

from tests.sandbox.conftest import SECRET
from tests.sandbox.rows import NOW, START, awkward_rows
from turnmeter.sandbox import Sandbox, SandboxConfig, UsageRow
from turnmeter.sandbox.engine import sandbox_schema
from turnmeter.sandbox.json_groups import FIRST_SECOND, JsonText, projection, shape
from turnmeter.sandbox.sql import GroupQuery
from turnmeter.sandbox.store import UsageStore

OTHER = "0" * 31 + "2"
FRAGMENTS = {
    "Sums": "fragment Sums on AccountCallsTurnUsageAdaptiveGroupsSum"
    " { egressBytes total: ingressBytes }",
    "Group": "fragment Group on AccountCallsTurnUsageAdaptiveGroups"
    " { dimensions { keyId } ...Extra }",
    "Extra": "fragment Extra on AccountCallsTurnUsageAdaptiveGroups { sum { ...Sums } }",
}
VARIABLES = {
    "$other": "$other: string!",
    "$yes": "$yes: Boolean = true",
    "$no": "$no: Boolean = false",
}


def _document(viewer: str) -> str:
    """An operation around ``viewer``'s selection, declaring only what it uses."""
    declared = ["$tag: string!", "$filter: AccountCallsTurnUsageAdaptiveGroupsFilter_InputObject!"]
    declared += [text for name, text in VARIABLES.items() if name in viewer]
    used, text = [], viewer
    for name in ("Group", "Extra", "Sums"):  # each may spread the next
        if f"...{name}" in text:
            used.append(FRAGMENTS[name])
            text += FRAGMENTS[name]
    return f"query Q({', '.join(declared)}) {{ viewer {{ {viewer} }} }}\n" + "\n".join(used)


def _node(selection: str) -> str:
    return _document(f"accounts(filter: {{accountTag: $tag}}) {{ {selection} }}")


NODE_ARGS = "filter: $filter, limit: 10000"

SELECTIONS = {
    "minute x datacenter": f"callsTurnUsageAdaptiveGroups({NODE_ARGS},"
    " orderBy: [datetimeMinute_ASC]) { dimensions { datetimeMinute datacenterCode }"
    " sum { egressBytes ingressBytes } }",
    "aliases everywhere": f"g: callsTurnUsageAdaptiveGroups({NODE_ARGS}) {{ d: dimensions"
    " { t: datetimeFifteenMinutes c: customIdentifier } s: sum { e: egressBytes }"
    " a: avg { m: concurrentConnectionsMinute } }",
    "blocks and fields out of store order": f"callsTurnUsageAdaptiveGroups({NODE_ARGS})"
    " { avg { concurrentConnectionsHour concurrentConnectionsFiveMinutes }"
    " sum { ingressBytes egressBytes } dimensions { username keyId date } }",
    "a field twice, a block twice": f"callsTurnUsageAdaptiveGroups({NODE_ARGS}) {{"
    " dimensions { date day: date datetimeHour } sum { egressBytes } again: sum { egressBytes }"
    " dimensions { keyId } }",
    "__typename": f"callsTurnUsageAdaptiveGroups({NODE_ARGS}) {{ __typename kind: __typename"
    " dimensions { __typename datacenterCity } sum { __typename egressBytes } }",
    "fragments and directives": f"callsTurnUsageAdaptiveGroups({NODE_ARGS}) {{ ...Group"
    " dimensions { customIdentifier @skip(if: $yes) username @include(if: $yes) }"
    " ... on AccountCallsTurnUsageAdaptiveGroups { avg { concurrentConnectionsHour } }"
    " sum @include(if: $no) { ingressBytes } }",
    "everything skipped": "callsTurnUsageAdaptiveGroups(filter: $filter, limit: 3)"
    " { dimensions @skip(if: $yes) { keyId } }",
    "ordered by a sum, limited": "callsTurnUsageAdaptiveGroups(filter: $filter, limit: 7,"
    " orderBy: [sum_egressBytes_DESC]) { dimensions { customIdentifier keyId }"
    " sum { egressBytes } }",
    "ordered by an avg and a dimension": f"callsTurnUsageAdaptiveGroups({NODE_ARGS},"
    " orderBy: [avg_concurrentConnectionsHour_DESC, datacenterCountry_DESC])"
    " { dimensions { datacenterCountry datacenterRegion } avg { concurrentConnectionsHour } }",
    "hourly, over the rollup": f"callsTurnUsageAdaptiveGroups({NODE_ARGS},"
    " orderBy: [datetimeHour_DESC]) { dimensions { datetimeHour } sum { egressBytes }"
    " avg { concurrentConnectionsHour } }",
    "a total": f"callsTurnUsageAdaptiveGroups({NODE_ARGS})"
    " { sum { egressBytes ingressBytes } }",
    "two nodes": f"a: callsTurnUsageAdaptiveGroups({NODE_ARGS}) {{ sum {{ egressBytes }} }}"
    f" b: callsTurnUsageAdaptiveGroups({NODE_ARGS}) {{ dimensions {{ datetimeFiveMinutes }}"
    " avg { concurrentConnectionsFiveMinutes } }",
}


def _window(**extra: Any) -> dict[str, Any]:
    return {
        "datetimeMinute_geq": (START - timedelta(minutes=1)).isoformat(),
        "datetimeMinute_lt": NOW.isoformat(),
        **extra,
    }


FILTERS = {
    "window": _window(),
    "whole hours": {
        "datetimeHour_geq": START.replace(minute=0).isoformat(),
        "datetimeHour_lt": NOW.replace(minute=0).isoformat(),
    },
    "LIKE and IN": _window(customIdentifier_like="cust%", keyId_in=["k3", "nope"]),
    "OR of AND": _window(
        OR=[{"datacenterCode": "FRA", "username_neq": "u-a"}, {"AND": [{"username": "u%e"}]}]
    ),
    "nothing matches": _window(customIdentifier="no such customer"),
}


def _config(**extra: Any) -> SandboxConfig:
    return SandboxConfig(
        token=SECRET, now=NOW, rate_limit=None, other_accounts=(OTHER,), days=3, **extra
    )


@asynccontextmanager
async def _pair_over(rows: list[UsageRow]) -> AsyncIterator[tuple[Sandbox, Sandbox]]:
    async with Sandbox(_config(rows=rows)) as fast, Sandbox(_config(rows=rows)) as general:
        general.state.engine.execution_context_class = ExecutionContext
        yield fast, general


@pytest.fixture(scope="module")
async def pair() -> AsyncIterator[tuple[Sandbox, Sandbox]]:
    """(a sandbox answering normally, one completing every node with graphql-core's own
    executor) over the awkward rows, with a second, synthetic account."""
    async with _pair_over(awkward_rows()) as both:
        yield both


async def _raw(
    http: aiohttp.ClientSession, sandbox: Sandbox, query: str, variables: dict[str, Any]
) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {SECRET}"}
    payload = {"query": query, "variables": variables}
    async with http.post(sandbox.url, json=payload, headers=headers) as response:
        return response.status, await response.read()


async def _same_answer(
    http: aiohttp.ClientSession,
    pair: tuple[Sandbox, Sandbox],
    query: str,
    variables: dict[str, Any],
) -> bytes:
    fast, general = pair
    expected = await _raw(http, general, query, variables)
    assert expected[0] == 200, expected
    assert await _raw(http, fast, query, variables) == expected
    return expected[1]


@pytest.mark.parametrize("selection", list(SELECTIONS))
@pytest.mark.parametrize("node_filter", list(FILTERS))
async def test_sqlite_writes_what_graphql_core_completes(
    http: aiohttp.ClientSession, pair: tuple[Sandbox, Sandbox], selection: str, node_filter: str
) -> None:
    variables = {"tag": pair[0].config.account_tag, "filter": FILTERS[node_filter]}
    await _same_answer(http, pair, _node(SELECTIONS[selection]), variables)


async def test_several_accounts_in_one_request(
    http: aiohttp.ClientSession, pair: tuple[Sandbox, Sandbox]
) -> None:
    node = SELECTIONS["aliases everywhere"]
    query = _document(
        f"main: accounts(filter: {{accountTag: $tag}}) {{ {node} }}"
        f" other: accounts(filter: {{accountTag: $other}}) {{ {node} }}"
    )
    window = {
        "datetimeMinute_geq": (NOW - timedelta(days=1)).isoformat(),
        "datetimeMinute_lt": NOW.isoformat(),
    }
    variables = {"tag": pair[0].config.account_tag, "other": OTHER, "filter": window}
    body = await _same_answer(http, pair, query, variables)
    assert body.count(b'"t":') > 100  # both accounts answered with groups


def _row(index: int, username: str, egress: Any = 1, connections: int = 1) -> UsageRow:
    minute = START + timedelta(minutes=index % 2800)
    return UsageRow(
        minute, "k", username, f"c{index}", "city", "X", "XX", "R", egress, 1, connections
    )


USERNAMES = _node(
    f"callsTurnUsageAdaptiveGroups({NODE_ARGS}) {{ dimensions {{ username }} sum {{ egressBytes }}"
    " avg { concurrentConnectionsMinute } }"
)


async def test_every_character_is_escaped_as_orjson_escapes_it(
    http: aiohttp.ClientSession,
) -> None:
    codes = {*range(0x800), *range(0x800, 0xD800, 7), *range(0xE000, 0x110000, 4099)}
    codes |= {0x2028, 0x2029, 0xFEFF, 0xFFFF, 0x1F600, 0x10FFFF}
    names = [f"<{chr(code)}>\"\\'{chr(code)}" for code in sorted(codes)]
    async with _pair_over([_row(i, name) for i, name in enumerate(names)]) as pair:
        variables = {"tag": pair[0].config.account_tag, "filter": _window()}
        body = await _same_answer(http, pair, USERNAMES, variables)
    assert body.count(b'"username":') == len(names)


def _without_ids(raw: bytes) -> Any:
    body = orjson.loads(raw)
    for error in body["errors"] or ():
        error["extensions"].pop("timestamp")
        error["extensions"].pop("ray_id")
    return body


@pytest.mark.parametrize(
    "rows",
    [
        [_row(0, "a", connections=-5)],  # a negative uint64 average
        [_row(0, "a", egress=1.5)],  # a number SQLite keeps as REAL
        [_row(0, "a", egress=2.0), _row(1, "b")],  # 2.0: SQLite stores an integer, both write 2
    ],
    ids=["negative uint64", "fraction", "integral float"],
)
async def test_values_sqlite_would_write_differently_go_the_general_way(
    http: aiohttp.ClientSession, rows: list[UsageRow]
) -> None:
    async with _pair_over(rows) as (fast, general):
        variables = {"tag": fast.config.account_tag, "filter": _window()}
        expected = await _raw(http, general, USERNAMES, variables)
        got = await _raw(http, fast, USERNAMES, variables)
    assert got[0] == expected[0]
    assert _without_ids(got[1]) == _without_ids(expected[1])


def test_the_state_column_refuses_years_sqlite_writes_differently() -> None:
    group_type = sandbox_schema().type_map["AccountCallsTurnUsageAdaptiveGroups"]
    assert isinstance(group_type, GraphQLObjectType)
    plan = [("dimensions", "dimensions", [("datetimeMinute", "datetimeMinute", None)])]
    query = GroupQuery(("datetimeMinute",), (), (), {}, (), 10)
    project = projection(shape(group_type, plan, query))
    for minute, written in ((FIRST_SECOND - 60, None), (FIRST_SECOND, "1000-01-01T00:00:00Z")):
        store = UsageStore.create([(minute, "k", "u", "c", "x", "X", "XX", "R", 1, 1, 1)])
        text = store.group_json(query, project)
        store.close()
        expected = (
            None if written is None else f'[{{"dimensions":{{"datetimeMinute":"{written}"}}}}]'
        )
        assert text == expected


async def test_a_plain_selection_is_written_by_sqlite(pair: tuple[Sandbox, Sandbox]) -> None:
    # the comparisons above would hold trivially if the fast path were never taken
    fast, _ = pair
    payload = {
        "query": _node(SELECTIONS["aliases everywhere"]),
        "variables": {"tag": fast.config.account_tag, "filter": _window()},
    }
    reply = fast.state.engine.run_sync(payload, authorization=f"Bearer {SECRET}")
    node = reply.body["data"]["viewer"]["accounts"][0]["g"]
    assert isinstance(node, JsonText)
