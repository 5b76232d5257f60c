"""Hypothesis: random mutations of valid responses, fast path against the slow path.

Fast raises MalformedResponse whenever the slow path refuses; when both accept, the rows are
equal. The fast path may refuse where the slow path accepts only for a ``Time`` string that is
not RFC 3339 with an offset, or a null ``sum``/``dimensions`` in an account after the first
(the two documented differences).
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pydantic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.decode.oracle import CASES, Case, group_for, response
from turnmeter.errors import MalformedResponse
from turnmeter.generated import Refused

RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)", re.ASCII)

WEIRD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, -1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64]),
    st.integers(),
    st.sampled_from([1.0, 1.5, -0.0, 1e300]),
    st.sampled_from(["", "12", "x", "2025-01-01", "1735689600", "2025-01-01T00:00:00"]),
    st.sampled_from(
        [
            "2025-01-01T00:00:00Z",
            "2025-01-01T00:00:00.5+01:00",
            "2025-01-01 00:00:00Z",
            "2025-01-01T00:00Z",
            "2025-13-01T00:00:00Z",
            "2025-01-01T00:00:00+24:00",
            "2025-01-01T00:00:00.1234567Z",
        ]
    ),
    st.text(max_size=5),
    st.just([]),
    st.just({}),
    st.just({"egressBytes": 1}),
)


def nodes(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into ``value`` (dict keys and list indexes), the root excluded."""
    found = []
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return []
    for key, child in items:
        found.append((*path, key))
        found.extend(nodes(child, (*path, key)))
    return found


def mutate(data: Any, path: tuple[Any, ...], action: str, value: Any) -> None:
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    if action == "delete" and isinstance(parent, dict):
        del parent[key]
    elif action == "extra" and isinstance(parent, dict):
        parent[f"extra_{key}"] = value
    else:
        parent[key] = value


def time_strings(case: Case, data: Any) -> list[str]:
    """The Time leaves' string values in ``data``, wherever they still are."""
    times = [leaf.path for leaf in case.fast().leaves if leaf.scalar == "Time"]
    found = []
    try:
        for account in data["viewer"]["accounts"]:
            for group in account["callsTurnUsageAdaptiveGroups"]:
                for path in times:
                    value = group[path[0]][path[1]]
                    if isinstance(value, str):
                        found.append(value)
    except (KeyError, TypeError, IndexError):
        pass
    return found


def null_object_past_first_account(data: Any) -> bool:
    """The second documented difference: the old facade checked only the first account's
    groups for a null ``sum``/``dimensions``; the fast path holds every account to it."""
    accounts = data["viewer"]["accounts"]
    return any(
        group.get(name, 0) is None
        for account in accounts[1:]
        for group in account["callsTurnUsageAdaptiveGroups"]
        for name in ("sum", "dimensions")
    )


@st.composite
def mutated(draw: st.DrawFn) -> tuple[Case, Any]:
    case = draw(st.sampled_from(list(CASES.values())))
    groups = [group_for(case, i) for i in range(draw(st.integers(1, 4)))]
    data = copy.deepcopy(response(groups, accounts=draw(st.integers(1, 2))))
    for _ in range(draw(st.integers(1, 3))):
        paths = nodes(data)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "replace", "delete", "extra"]))
        mutate(data, path, action, copy.deepcopy(draw(WEIRD_VALUES)))
    return case, data


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_fast_path_refuses_exactly_what_the_slow_path_refuses(sample: tuple[Case, Any]) -> None:
    case, data = sample
    try:
        expected: list[Any] | None = case.slow(copy.deepcopy(data))
    except (MalformedResponse, Refused, pydantic.ValidationError):
        expected = None
    message = ""
    try:
        got: list[Any] | None = case.fast()(data, case.operation)
    except (MalformedResponse, Refused) as exc:
        message, got = str(exc), None
    assert got is not None or message.startswith(f"{case.operation}: ")
    if expected is None:
        assert got is None, "the fast path accepted what the slow path refuses"
    elif got is None:
        stricter = [t for t in time_strings(case, data) if not RFC3339.fullmatch(t)]
        assert stricter or null_object_past_first_account(data), (
            "the fast path refused what the slow path accepts"
        )
    else:
        assert got == expected
