"""A real redis-server on a free loopback port, started in a tmp dir (no persistence)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.conftest import cli_env, threaded_sandbox  # noqa: F401  (the CLI's sandbox)
from tests.resilience.conftest import stack  # noqa: F401  (a sandbox behind a counting proxy)
from tests.resilience.test_hostile_budget import hostile  # noqa: F401  (scripted answers)
from tests.servers import free_port, server_binary

#: A password that must never show up in any output, log, repr or exception.
CANARY_REDIS_PASSWORD = "canary-redis-5e1d-DO-NOT-LEAK-07ab"
#: Seconds a fresh redis-server may take to accept connections.
START_TIMEOUT = 10.0


@dataclass
class RedisServer:
    """One redis-server process; ``stop()``/``start()`` kill and restart it on the same port."""

    binary: str
    folder: Path
    port: int
    password: str | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.folder),
        ]  # fmt: skip
        if self.password:
            command += ["--requirepass", self.password]
        self.process = subprocess.Popen(
            command, cwd=self.folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                exited = self.process.poll()
                time.sleep(0.02)
            if exited is not None:
                raise RuntimeError(f"redis-server exited with {exited}")
        raise RuntimeError("redis-server did not start listening in time")

    def stop(self) -> None:
        """SIGKILL: the server dies as a crashed one does, with no goodbye to its clients."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


def _serve(tmp_path: Path, password: str | None) -> Iterator[RedisServer]:
    server = RedisServer(server_binary("redis-server"), tmp_path, free_port(), password)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own (state never leaks between tests)."""
    yield from _serve(tmp_path, None)


@pytest.fixture
def redis_with_password(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server that requires :data:`CANARY_REDIS_PASSWORD`."""
    yield from _serve(tmp_path, CANARY_REDIS_PASSWORD)
