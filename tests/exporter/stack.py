"""A sandbox on a fixed clock, a client and an in-process exporter serving HTTP on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from turnmeter import TurnUsage
from turnmeter.exporter import ExporterSettings
from turnmeter.exporter.app import Exporter
from turnmeter.sandbox import Sandbox, SandboxConfig

#: The sandbox clock: synthetic traffic fills the 7 days before it, all inside August 2024.
NOW = datetime(2024, 8, 10, 2, 7, 30, tzinfo=UTC)
MONTH_START = datetime(2024, 8, 1, tzinfo=UTC)


@dataclass
class Stack:
    sandbox: Sandbox
    turn: TurnUsage
    exporter: Exporter
    port: int

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.target}/metrics"


@asynccontextmanager
async def exporter_stack(
    settings: ExporterSettings, config: SandboxConfig | None = None
) -> AsyncIterator[Stack]:
    """Sandbox, client and a polling exporter whose clock is the sandbox's (set_now moves it)."""
    async with (
        Sandbox(config or SandboxConfig(now=NOW, rate_limit=None)) as sandbox,
        TurnUsage(
            account_tag=sandbox.config.account_tag,
            api_token=sandbox.config.token,
            endpoint=sandbox.url,
        ) as turn,
    ):
        exporter = Exporter(turn, settings, clock=lambda: sandbox.config.clock())
        async with exporter:
            port = await exporter.start_http("127.0.0.1", 0)
            exporter.start_polling()
            yield Stack(sandbox, turn, exporter, port)
