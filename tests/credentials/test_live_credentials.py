"""Opt-in: mint and revoke one real TURN credential (``pytest -m live``, with a TURN key).

Needs ``CLOUDFLARE_TURN_KEY_ID`` and ``CLOUDFLARE_TURN_KEY_TOKEN``; never part of the default
run. The credential lives 60 s and is revoked at once: nothing relays on it, nothing is billed.
"""

from __future__ import annotations

import os

import pytest

from turnmeter import IceTransport, TurnCredentials

pytestmark = pytest.mark.live


async def test_issue_and_revoke_one_real_credential() -> None:
    missing = [
        n for n in ("CLOUDFLARE_TURN_KEY_ID", "CLOUDFLARE_TURN_KEY_TOKEN") if not os.environ.get(n)
    ]
    if missing:
        pytest.fail(f"this live test needs {', '.join(missing)} in the environment")
    async with TurnCredentials() as creds:
        servers = await creds.issue(custom_identifier="turnmeter-live-test", ttl=60)
        assert {IceTransport.STUN, IceTransport.TURN_UDP, IceTransport.TURNS} <= servers.transports
        assert servers.username is not None
        await creds.revoke(servers.username)
