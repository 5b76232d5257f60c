"""A sandbox on its own thread and event loop, so the synchronous CLI can talk to it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from tests.conftest import CANARY_TOKEN
from turnmeter.sandbox import Sandbox, SandboxConfig


class ThreadedSandbox:
    """Runs a :class:`Sandbox` in a background thread until stopped."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.url = ""
        self.sandbox: Sandbox | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with Sandbox(self.config) as sandbox:
            self.sandbox, self.url = sandbox, sandbox.url
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> ThreadedSandbox:
        self._thread.start()
        if not self._ready.wait(timeout=30):
            raise RuntimeError("sandbox thread did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)


@pytest.fixture(scope="session")
def threaded_sandbox(rows_config: SandboxConfig) -> Iterator[ThreadedSandbox]:
    with ThreadedSandbox(rows_config) as server:
        yield server


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, threaded_sandbox: ThreadedSandbox) -> str:
    """Environment for CLI runs against the threaded sandbox; returns its URL."""
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", CANARY_TOKEN)
    monkeypatch.setenv("TURNMETER_SANDBOX_TOKEN", CANARY_TOKEN)  # --sandbox never sends the above
    monkeypatch.setenv("TURNMETER_SANDBOX_URL", threaded_sandbox.url)
    monkeypatch.delenv("TURNMETER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent-turnmeter-test")
    return threaded_sandbox.url
