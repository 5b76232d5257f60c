"""The TURN groups completed by plan are exactly what graphql-core's own completion builds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from graphql.execution import ExecutionContext

from tests.sandbox.conftest import SECRET
from tests.sandbox.rows import NOW, START, awkward_rows
from turnmeter.sandbox import SandboxConfig
from turnmeter.sandbox.completion import GroupsExecutionContext
from turnmeter.sandbox.engine import Engine
from turnmeter.sandbox.ratelimit import QueryBudget
from turnmeter.sandbox.replies import encode
from turnmeter.sandbox.store import UsageStore, row_tuple

NODE = """
query Q($tag: string!, $filter: AccountCallsTurnUsageAdaptiveGroupsFilter_InputObject!%s) {
  viewer { accounts(filter: {accountTag: $tag}) {
    %s
  } }
}
"""
SUMS = "fragment Sums on AccountCallsTurnUsageAdaptiveGroupsSum { egressBytes total: ingressBytes }"
FLAGS = ", $yes: Boolean = true, $no: Boolean = false"


def _text(selection: str) -> str:
    flags = FLAGS if "$yes" in selection else ""
    return NODE % (flags, selection) + (SUMS if "...Sums" in selection else "")


SELECTIONS = (
    "callsTurnUsageAdaptiveGroups(filter: $filter, limit: 500, orderBy: [date_DESC]) {"
    " dimensions { date datetimeHour keyId } sum { egressBytes ingressBytes } }",
    "callsTurnUsageAdaptiveGroups(filter: $filter, limit: 500) {"
    " dimensions { datetimeMinute datacenterCode } sum { egressBytes } }",
    "rows: callsTurnUsageAdaptiveGroups(filter: $filter, limit: 50, orderBy: [date_ASC]) {"
    " __typename kind: __typename dimensions { __typename date day: date keyId }"
    " sum { ...Sums } other: sum { egressBytes } }",
    "callsTurnUsageAdaptiveGroups(filter: $filter, limit: 50) {"
    " dimensions { customIdentifier @skip(if: $yes) username @include(if: $yes) }"
    " ... on AccountCallsTurnUsageAdaptiveGroups { avg { concurrentConnectionsHour } }"
    " sum @include(if: $no) { egressBytes } }",
    "a: callsTurnUsageAdaptiveGroups(filter: $filter, limit: 9) { sum { egressBytes } }"
    " b: callsTurnUsageAdaptiveGroups(filter: $filter, limit: 9) {"
    " dimensions { datetimeHour } sum { egressBytes } }",
    "callsTurnUsageAdaptiveGroups(filter: $filter, limit: 20) { dimensions { keyId }"
    " confidence(level: 0.95) { sum { egressBytes { estimate sampleSize } } } }",
)


class _Reference(Engine):
    execution_context_class = ExecutionContext


@pytest.fixture(scope="module")
def engines() -> Iterator[tuple[Engine, Engine]]:
    config = SandboxConfig(token=SECRET, now=NOW, rate_limit=None)
    store = UsageStore.create(row_tuple(row) for row in awkward_rows())
    yield (
        Engine(config, store, QueryBudget(None, 300)),
        _Reference(config, store, QueryBudget(None, 300)),
    )
    store.close()


@pytest.mark.parametrize("selection", SELECTIONS)
def test_plan_and_graphql_core_complete_alike(
    engines: tuple[Engine, Engine], selection: str
) -> None:
    fast, reference = engines
    assert fast.execution_context_class is GroupsExecutionContext
    window = {
        "datetimeMinute_geq": (START - timedelta(minutes=1)).isoformat(),
        "datetimeMinute_lt": NOW.isoformat(),
    }
    payload: dict[str, Any] = {
        "query": _text(selection),
        "variables": {"tag": fast.config.account_tag, "filter": window},
    }
    got = fast.run_sync(payload, authorization=f"Bearer {SECRET}")
    expected = reference.run_sync(payload, authorization=f"Bearer {SECRET}")
    assert expected.status == 200, expected.body
    assert got.status == expected.status
    # what is sent, byte for byte (key order included)
    assert encode(got.body) == encode(expected.body)
