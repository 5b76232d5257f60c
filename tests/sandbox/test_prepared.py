"""Parse and validation outcomes are kept per query text: the same answers, computed once."""

from __future__ import annotations

from datetime import timedelta

import aiohttp

from tests.sandbox.conftest import post
from tests.sandbox.rows import NOW
from turnmeter.sandbox import Sandbox, guards, prepared
from turnmeter.sandbox.engine import sandbox_schema

TOP_KEYS = """
query Top($tag: string!, $since: Time!, $until: Time!) {
  viewer { accounts(filter: {accountTag: $tag}) {
    callsTurnUsageAdaptiveGroups(
      filter: {datetimeMinute_geq: $since, datetimeMinute_lt: $until}, limit: 5,
      orderBy: [sum_egressBytes_DESC]
    ) { dimensions { keyId } sum { egressBytes } } } } }
"""


def _window(days: int) -> dict[str, str]:
    return {
        "since": (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "until": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


async def test_a_repeated_text_is_parsed_once_and_answers_its_own_variables(
    http: aiohttp.ClientSession, awkward: Sandbox
) -> None:
    tag = awkward.config.account_tag
    status, first = await post(http, awkward, TOP_KEYS, {"tag": tag, **_window(2)})
    assert status == 200
    assert first["errors"] is None
    hits = prepared.cache_info().hits
    status, second = await post(http, awkward, TOP_KEYS, {"tag": tag, **_window(1)})
    assert status == 200
    assert second["errors"] is None
    assert prepared.cache_info().hits == hits + 1
    # the shared document is not bound to the first request's variables
    total = sum(
        g["sum"]["egressBytes"]
        for g in first["data"]["viewer"]["accounts"][0]["callsTurnUsageAdaptiveGroups"]
    )
    narrower = sum(
        g["sum"]["egressBytes"]
        for g in second["data"]["viewer"]["accounts"][0]["callsTurnUsageAdaptiveGroups"]
    )
    assert 0 < narrower < total


async def test_a_cached_failure_is_sent_exactly_as_the_first_time(
    http: aiohttp.ClientSession, awkward: Sandbox
) -> None:
    for query in (
        "{ viewer { nope } }",  # validation
        "{ viewer { ",  # parse
        "{ viewer { " + "a " * (guards.MAX_QUERY_TOKENS + 1) + "} }",  # too many tokens
        "{" * (guards.MAX_NESTING_DEPTH + 1),  # too deep
    ):
        answers = [await post(http, awkward, query) for _ in range(2)]
        (status1, body1), (status2, body2) = answers
        assert status1 == status2 == 400
        message = body1["errors"][0]["message"]
        assert message == body2["errors"][0]["message"]
        assert body1["errors"][0]["extensions"].get("code") == body2["errors"][0]["extensions"].get(
            "code"
        )
    assert (
        prepared.prepare(sandbox_schema(), "{ viewer { nope } }").message == 'unknown field "nope"'
    )


async def test_the_text_checks_still_come_before_the_variable_checks(
    http: aiohttp.ClientSession, awkward: Sandbox
) -> None:
    deep = "{" * (guards.MAX_NESTING_DEPTH + 1)
    too_many = {"f": list(range(guards.MAX_LIST_ITEMS + 1))}
    for _ in range(2):
        status, body = await post(http, awkward, deep, too_many)
        assert status == 400
        assert "nest" in body["errors"][0]["message"]
    # a text that only fails to parse reports the variables first, as before the cache
    for _ in range(2):
        status, body = await post(http, awkward, "{ viewer { ", too_many)
        assert status == 400
        assert f"{guards.MAX_LIST_ITEMS:,}" in body["errors"][0]["message"]


def test_the_cache_is_bounded() -> None:
    schema = sandbox_schema()
    for index in range(prepared.MAX_PREPARED + 10):
        prepared.prepare(schema, f"{{ viewer {{ budget }} }} # {index}")
    assert prepared.cache_info().currsize <= prepared.MAX_PREPARED
