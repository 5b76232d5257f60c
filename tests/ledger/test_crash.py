"""SIGKILL a real ``turnmeter sync`` process at several points, rerun it, compare with a clean run.

The sandbox counts requests (a rate budget the test never reaches) and answers each one a
little late, so the kills land before anything is committed, in the middle of a window's pages,
and between windows. After every kill the ledger holds whole windows only; after the rerun it
is the clean run's ledger, row for row and byte for byte (``--now`` fixes ``fetched_at``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest

from tests.conftest import CANARY_TOKEN
from tests.ledger.conftest import SINCE, sandbox_config
from tests.usage_data import NOW
from turnmeter.ledger import Ledger
from turnmeter.ledger.model import SeriesSpec
from turnmeter.sandbox import Sandbox
from turnmeter.sandbox.model import NodeLimits

#: 6 h windows of pages of 5 rows: about fifty requests for the three days.
TINY = NodeLimits(max_duration=6 * 3600, max_page_size=5)
BUDGET = 10**9
KILL_AFTER_REQUESTS = (1, 3, 17, 33)
SPEC = SeriesSpec("hour", ("key_id", "custom_identifier"))


def _command(url: str, store: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "turnmeter",
        "sync",
        "--sandbox",
        url,
        "--store",
        store,
        "--now",
        NOW.isoformat(),
        "--since",
        SINCE.isoformat(),
    ]


def _environment() -> dict[str, str]:
    env = dict(os.environ, TURNMETER_SANDBOX_TOKEN=CANARY_TOKEN)
    env.pop("CLOUDFLARE_API_TOKEN", None)
    return env


async def _snapshot(store: str) -> tuple[list[tuple[object, ...]], list[object]]:
    async with Ledger(store, grain=SPEC.grain, dimensions=SPEC.dimensions) as ledger:
        series = [s for s in await ledger.store.all_series() if s.spec == SPEC]
        covers = await ledger.store.coverage(series[0].id) if series else []
        return list(await ledger.rows()), list(covers)


async def _run(url: str, store: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        *_command(url, store),
        env=_environment(),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()[-2000:]


async def _run_and_kill(url: str, store: str, sandbox: Sandbox, after: int) -> bool:
    """Start a sync; SIGKILL it once the sandbox has answered ``after`` more requests."""
    sent = lambda: BUDGET - sandbox.state.engine.budget.remaining()  # noqa: E731
    start = sent()
    proc = await asyncio.create_subprocess_exec(
        *_command(url, store),
        env=_environment(),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    # The sandbox's counter has no event to wait on: poll it (the sandbox serves meanwhile).
    while proc.returncode is None and sent() - start < after:  # noqa: ASYNC110
        await asyncio.sleep(0.002)
    killed = proc.returncode is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    await proc.wait()
    return killed


@pytest.fixture
async def slow_sandbox() -> Sandbox:  # type: ignore[misc]
    config = sandbox_config(limits=TINY, rate_limit=BUDGET, rate_window=1e12)
    async with Sandbox(config) as sandbox:
        sandbox.faults.latency = 0.03
        yield sandbox


async def test_sigkill_at_several_points_then_rerun_equals_a_clean_run(
    store_url: str, slow_sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
) -> None:
    clean_store = f"sqlite:///{tmp_path_factory.mktemp('clean') / 'clean.db'}"
    await _run(slow_sandbox.url, clean_store)
    clean_rows, clean_covers = await _snapshot(clean_store)
    by_bucket: dict[object, list[tuple[object, ...]]] = {}
    for row in clean_rows:
        by_bucket.setdefault(row[0], []).append(row)
    assert len(clean_covers) == 3 * 24 + 1  # 02:00 three days before .. the bucket holding NOW

    kills, progress = 0, []
    for after in KILL_AFTER_REQUESTS:
        kills += await _run_and_kill(slow_sandbox.url, store_url, slow_sandbox, after)
        rows, covers = await _snapshot(store_url)
        # Whole windows only: every covered bucket holds exactly the clean run's rows.
        covered = {c.bucket_start for c in covers}  # type: ignore[attr-defined]
        progress.append(len(covered))
        assert [r for r in rows if r[0] not in covered] == []
        for bucket in covered:
            assert sorted(r for r in rows if r[0] == bucket) == sorted(by_bucket.get(bucket, []))
    assert kills == len(KILL_AFTER_REQUESTS)  # every kill landed mid-run
    # Killed before the first commit, then partway at several points; never finished.
    assert progress[0] == 0
    assert 0 < progress[-1] < len(clean_covers)

    await _run(slow_sandbox.url, store_url)
    rows, covers = await _snapshot(store_url)
    assert rows == clean_rows
    assert covers == clean_covers
