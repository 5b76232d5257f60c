"""A local, Cloudflare-faithful TURN analytics GraphQL server (the sandbox).

It executes turnmeter's committed, pruned Cloudflare schema with graphql-core over SQLite, with
Cloudflare's node limits, auth, rate limit, error wording and statuses, and scripted faults::

    from turnmeter.sandbox import Sandbox, SandboxConfig

    async with Sandbox(SandboxConfig()) as sandbox:
        print(sandbox.url, sandbox.config.account_tag)  # Bearer sandbox.config.token
"""

from __future__ import annotations

from turnmeter.sandbox.faults import Fault, FaultQueue
from turnmeter.sandbox.model import NodeLimits, SandboxConfig, UsageRow
from turnmeter.sandbox.server import Sandbox, build_app, build_store
from turnmeter.sandbox.sfu import SfuRow
from turnmeter.sandbox.turn_keys import RelayRefused

__all__ = [
    "Fault",
    "FaultQueue",
    "NodeLimits",
    "RelayRefused",
    "Sandbox",
    "SandboxConfig",
    "SfuRow",
    "UsageRow",
    "build_app",
    "build_store",
]
