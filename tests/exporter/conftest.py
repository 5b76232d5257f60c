"""Fixtures of the exporter tests: a real Prometheus server, started on demand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from tests.exporter.prometheus import Prometheus, StartPrometheus, prometheus_scraping


@pytest.fixture
async def prometheus_for(tmp_path: Path) -> AsyncIterator[StartPrometheus]:
    """``await prometheus_for("127.0.0.1:PORT")``: Prometheus on a free loopback port, in a tmp
    dir, scraping that target as job ``turnmeter`` with the shipped rules; stopped after the
    test. (The exporter's port is known only once it listens, hence a starter.)"""
    started = 0
    async with AsyncExitStack() as stack:

        async def start(target: str) -> Prometheus:
            nonlocal started
            started += 1
            folder = tmp_path / f"prometheus-{started}"
            folder.mkdir()
            return await stack.enter_async_context(prometheus_scraping(target, folder))

        yield start
