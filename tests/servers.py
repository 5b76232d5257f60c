"""Finding the real server binaries (PostgreSQL, Redis, Prometheus) that some tests start.

Outside CI a missing binary skips the test with the command that installs it; in CI
(``TURNMETER_REQUIRE_SERVERS=1``, set by ``.ci/run``) a missing binary is a failure, never
a skip, so a broken install cannot pass as green.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket

import pytest

#: Set by .ci/run: every server a test needs must be present.
REQUIRE_ENV = "TURNMETER_REQUIRE_SERVERS"

#: Debian packages that carry each binary (what .ci/run installs).
PACKAGES = {
    "redis-server": "redis-server",
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "postgres": "postgresql",
    "initdb": "postgresql",
    "pg_ctl": "postgresql",
}

#: PostgreSQL keeps its server binaries off PATH on Debian.
_EXTRA_DIRS = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)


def server_binary(name: str) -> str:
    """The path of ``name``, or skip (outside CI) / fail (in CI) saying how to install it."""
    found = shutil.which(name)
    if found is None:
        for folder in _EXTRA_DIRS:
            candidate = os.path.join(folder, name)
            if os.access(candidate, os.X_OK):
                found = candidate
                break
    if found is not None:
        return found
    hint = f"{name} is not installed: apt-get install -y {PACKAGES.get(name, name)}"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{hint} ({REQUIRE_ENV}=1: a missing server is a failure in CI)")
    pytest.skip(hint)


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
