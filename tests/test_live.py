"""Opt-in checks against the real Cloudflare API: ``pytest -m live`` with a token and account.

Never part of the default run (``addopts = -m 'not live'``) and never needed by CI.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from turnmeter import Query, TurnUsage

pytestmark = pytest.mark.live


@pytest.fixture
def live_env() -> None:
    missing = [
        n for n in ("CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID") if not os.environ.get(n)
    ]
    if missing:
        pytest.fail(f"live tests need {', '.join(missing)} in the environment")


@pytest.mark.usefixtures("live_env")
async def test_limits_and_a_day_of_usage() -> None:
    async with TurnUsage() as turn:
        limits = await turn.limits()
        assert limits.max_page_size > 0
        until = datetime.now(UTC).replace(second=0, microsecond=0)
        since = until - timedelta(days=1)
        total = await turn.total(since, until)
        keys = await turn.top_keys(since, until, limit=10_000)
        assert sum(k.egress_bytes for k in keys) == pytest.approx(total.egress_bytes, rel=0.05)


@pytest.mark.usefixtures("live_env")
async def test_query_over_more_than_max_duration() -> None:
    async with TurnUsage() as turn:
        limits = await turn.limits()
        until = datetime.now(UTC).replace(second=0, microsecond=0)
        since = until - min(limits.max_duration * 2, limits.not_older_than - timedelta(days=1))
        rows = await turn.query(Query(dimensions=["date"]), since, until)
        assert all(row.date >= since.date() for row in rows)
