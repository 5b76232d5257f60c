"""Minting Cloudflare TURN credentials only when the budget allows.

:class:`TurnCredentials` (the TURN key API client: issue, generate, revoke), the ICE server
types (:mod:`turnmeter.credentials.ice`) and the policy that decides
(:mod:`turnmeter.credentials.policy`); audit records go to the ``turnmeter.credentials`` logger.
"""

from __future__ import annotations

from turnmeter.credentials.api import MAX_TTL, TurnCredentials, check_ttl
from turnmeter.credentials.ice import IceServer, IceServers, IceTransport
from turnmeter.credentials.policy import CustomerMeter, IssueDecision, IssuePolicy, OnRefusal

__all__ = [
    "MAX_TTL",
    "CustomerMeter",
    "IceServer",
    "IceServers",
    "IceTransport",
    "IssueDecision",
    "IssuePolicy",
    "OnRefusal",
    "TurnCredentials",
    "check_ttl",
]
