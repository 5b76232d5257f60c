"""Hostile response bodies: each ends in a turnmeter exception or the exact number, nothing else."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import CANARY_TOKEN
from tests.resilience.conftest import Stack
from tests.usage_data import NOW
from turnmeter import TurnmeterError, TurnUsage
from turnmeter.sandbox import Fault
from turnmeter.transport.retry import NO_RETRY

SINCE = NOW - timedelta(days=1)
INT64 = (-(2**63), 2**63 - 1)

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=8)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
any_json = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=12,
)
numbers = st.one_of(
    st.integers(min_value=0, max_value=10**15),
    st.integers(min_value=0, max_value=10**15),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -1, 0, True, False, 1.0, 1.5, "12"]),
    scalars,
)


def maybe(value: st.SearchStrategy[Any], other: st.SearchStrategy[Any] = any_json) -> Any:
    """Mostly the well-formed part, sometimes anything at all."""
    return st.one_of(*[value] * 6, other)


groups_sum = st.fixed_dictionaries(
    {"egressBytes": numbers, "ingressBytes": numbers},
    optional={"extra": any_json},
)
group = maybe(st.fixed_dictionaries({"sum": maybe(groups_sum)}))
account = maybe(
    st.fixed_dictionaries({"callsTurnUsageAdaptiveGroups": maybe(st.lists(group, max_size=2))})
)
viewer = maybe(
    st.fixed_dictionaries({"accounts": maybe(st.lists(account, min_size=1, max_size=1))})
)
errors = st.one_of(st.none(), st.just([]), any_json, st.just([{"message": "Unauthorized"}]))
shaped = st.fixed_dictionaries(
    {"data": maybe(st.fixed_dictionaries({"viewer": viewer}))}, optional={"errors": errors}
)

#: The right shape, with only the numbers hostile: most of these must come back exactly.
right_shape = st.builds(
    lambda groups: {"data": {"viewer": {"accounts": [{"callsTurnUsageAdaptiveGroups": groups}]}}},
    st.lists(st.fixed_dictionaries({"sum": groups_sum}), max_size=1),
)


def is_int64(value: Any) -> bool:
    return type(value) is int and INT64[0] <= value <= INT64[1]


def expected_egress(body: Any) -> int | None:
    """The only right answer for ``body`` (an independent reading), or None: it must fail."""
    try:
        if body.get("errors", None) not in (None, []):
            return None
        groups = body["data"]["viewer"]["accounts"][0]["callsTurnUsageAdaptiveGroups"]
        if not isinstance(groups, list) or len(groups) > 1:
            return None
        if not groups:
            return 0
        sums = groups[0]["sum"]
        if is_int64(sums["egressBytes"]) and is_int64(sums["ingressBytes"]):
            return int(sums["egressBytes"])
    except (AttributeError, KeyError, IndexError, TypeError):
        return None
    return None


async def outcome(turn: TurnUsage) -> int | TurnmeterError:
    try:
        return (await turn.total(SINCE, NOW)).egress_bytes
    except TurnmeterError as exc:  # anything else fails the test
        return exc


def assert_refused(got: int | TurnmeterError, body: object) -> None:
    assert isinstance(got, TurnmeterError), (body, got)
    assert CANARY_TOKEN not in str(got) + repr(got)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=st.one_of(right_shape, right_shape, shaped, any_json))
async def test_hostile_json_bodies(stack: Stack, body: Any) -> None:
    stack.sandbox.faults.push(Fault.status(200, body=json.dumps(body)))
    async with stack.client(retry=NO_RETRY, endpoint=stack.sandbox.url) as turn:
        got = await outcome(turn)
    want = expected_egress(body) if isinstance(body, dict) else None
    event("answer" if want is not None else "refused")
    if want is None:
        assert_refused(got, body)
    else:
        assert got == want, (body, got)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    raw=st.one_of(
        st.binary(max_size=64),
        st.builds(lambda n: b"[" * n + b"]" * n, st.integers(1000, 50_000)),
        st.builds(lambda n: b'{"data":' * n + b"1" + b"}" * n, st.integers(500, 5_000)),
        st.just(b'{"data": {"viewer": "\xff\xfe"}}'),
        st.just(b"\xef\xbb\xbf{}"),
    )
)
async def test_hostile_raw_bodies(stack: Stack, raw: bytes) -> None:
    stack.proxy.raw_bodies.append((200, raw))
    async with stack.client(retry=NO_RETRY) as turn:
        assert_refused(await outcome(turn), raw)
