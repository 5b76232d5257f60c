"""One question over several sandbox accounts: both readable accounts answer, the forbidden one
is named as missing, one rate budget (the token's) pays for all of them, and each dataset is
asked for in its own request."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from tests.conftest import CANARY_TOKEN
from tests.sfu.conftest import FORBIDDEN, NOW, SECOND
from turnmeter import AuthError, ConfigError, IncompleteAnswer, TurnUsage
from turnmeter.accounts import ACCOUNT_COLUMN, across_accounts
from turnmeter.query import Query
from turnmeter.sandbox import Sandbox
from turnmeter.sfu import SfuUsage
from turnmeter.transport.ratelimit import RateBudget, RateMode

SINCE, UNTIL = NOW - timedelta(days=2), NOW


def _turn_egress(realtime: Sandbox, account: str | None = None) -> int:
    return sum(r.egress_bytes for r in realtime.rows(account) if SINCE <= r.minute < UNTIL)


def _sfu_egress(realtime: Sandbox, account: str | None = None) -> int:
    return sum(r.egress_bytes for r in realtime.sfu_rows(account) if SINCE <= r.minute < UNTIL)


async def test_two_readable_accounts_and_a_forbidden_one(
    turn: TurnUsage, realtime: Sandbox
) -> None:
    main = realtime.config.account_tag
    answer = await across_accounts(
        turn, [main, SECOND, FORBIDDEN], lambda client: client.total(SINCE, UNTIL)
    )
    assert list(answer.values) == [main, SECOND]
    assert answer.values[main].egress_bytes == _turn_egress(realtime)
    assert answer.values[SECOND].egress_bytes == _turn_egress(realtime, SECOND)
    assert answer.values[main] != answer.values[SECOND]
    assert list(answer.missing) == [FORBIDDEN]
    assert answer.missing[FORBIDDEN].startswith("AuthError: UsageTotal: not authorized for that")
    assert not answer.complete
    assert FORBIDDEN in answer.describe_missing()
    with pytest.raises(IncompleteAnswer, match=FORBIDDEN) as caught:
        answer.require_complete()
    assert caught.value.answer is answer
    assert isinstance(answer.results[2].error, AuthError)
    rows = answer.rows()
    assert [row[ACCOUNT_COLUMN] for row in rows] == [main, SECOND]
    assert rows[1]["egress_bytes"] == _turn_egress(realtime, SECOND)


async def test_row_answers_name_their_account(turn: TurnUsage, realtime: Sandbox) -> None:
    query = Query(dimensions=["key_id"], metrics=["egress_bytes"])
    answer = await across_accounts(
        turn,
        [realtime.config.account_tag, SECOND],
        lambda client: client.query(query, SINCE, UNTIL, clock=lambda: NOW),
    )
    assert answer.complete
    rows = answer.rows()
    for account in (realtime.config.account_tag, SECOND):
        mine = [row for row in rows if row[ACCOUNT_COLUMN] == account]
        assert mine
        assert sum(row["egress_bytes"] for row in mine) == _turn_egress(
            realtime, None if account == realtime.config.account_tag else SECOND
        )


async def test_sfu_across_accounts(turn: TurnUsage, realtime: Sandbox) -> None:
    answer = await across_accounts(
        turn, [SECOND, FORBIDDEN], lambda client: SfuUsage(client).total(SINCE, UNTIL)
    )
    assert answer.values[SECOND].egress_bytes == _sfu_egress(realtime, SECOND)
    assert list(answer.missing) == [FORBIDDEN]


async def test_one_rate_budget_for_the_token(realtime: Sandbox) -> None:
    # 3 queries in the budget: the first account's two datasets and the second's TURN spend
    # it, so the second's SFU query is refused by the client, and only that one is missing.
    budget = RateBudget(limit=3, window=300.0, mode=RateMode.FAIL_FAST)
    async with TurnUsage(
        account_tag=realtime.config.account_tag,
        api_token=realtime.config.token,
        endpoint=realtime.url,
        rate_budget=budget,
    ) as client:

        async def both(account: TurnUsage) -> tuple[int, int]:
            turn_total = await account.total(SINCE, UNTIL)
            sfu_total = await SfuUsage(account).total(SINCE, UNTIL)
            return turn_total.egress_bytes, sfu_total.egress_bytes

        answer = await across_accounts(
            client, [realtime.config.account_tag, SECOND], both, concurrency=1
        )
        assert client.transport.limiter is not None
        assert client.transport.limiter.used() == 3
    assert answer.values == {
        realtime.config.account_tag: (_turn_egress(realtime), _sfu_egress(realtime))
    }
    assert answer.missing[SECOND].startswith("RateLimited")


async def test_bad_account_lists(turn: TurnUsage) -> None:
    with pytest.raises(ConfigError, match="at least one account"):
        await across_accounts(turn, [], lambda client: client.total(SINCE, UNTIL))
    with pytest.raises(ConfigError, match="hexadecimal"):
        await across_accounts(turn, ["not a tag"], lambda client: client.total(SINCE, UNTIL))
    with pytest.raises(ConfigError, match="hexadecimal"):
        turn.for_account("")


async def test_the_token_never_shows(
    turn: TurnUsage, realtime: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="turnmeter")
    answer = await across_accounts(
        turn,
        [realtime.config.account_tag, SECOND, FORBIDDEN],
        lambda client: SfuUsage(client).total(SINCE, UNTIL),
    )
    copy = turn.for_account(SECOND)
    seen = [
        repr(answer),
        str(answer.missing),
        answer.describe_missing(),
        repr(SfuUsage(turn)),
        repr(copy),
        repr(copy.settings),
        *(str(r.error) for r in answer.results),
        *(record.getMessage() for record in caplog.records),
        *(str(record.__dict__) for record in caplog.records),
    ]
    assert FORBIDDEN in answer.describe_missing()
    assert all(CANARY_TOKEN not in text for text in seen)
