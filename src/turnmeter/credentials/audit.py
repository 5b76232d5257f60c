"""One audit record per credential decision on the ``turnmeter.credentials`` logger.

Who (the custom identifier), what (issue, stun_only, refuse, failed, generate, revoke), why
(the policy's reason and detail) and the username issued or revoked. Never a token and never
the TURN credential. Values are quoted with ``repr`` so that a custom identifier cannot pass
for another field (line breaks never get this far: ``issue`` refuses them). Structured
handlers get the same fields as ``extra`` (``turnmeter_audit``).
"""

from __future__ import annotations

import logging
from typing import Any

credentials_logger = logging.getLogger("turnmeter.credentials")


def audit(
    action: str,
    *,
    customer: str | None,
    reason: str,
    detail: str,
    username: str | None = None,
    ttl: int | None = None,
) -> None:
    """Log one decision at INFO (a refusal at WARNING: someone may page on it)."""
    fields: dict[str, Any] = {
        "action": action,
        "customer": customer,
        "reason": reason,
        "username": username,
        "ttl": ttl,
    }
    level = logging.WARNING if action in ("refuse", "failed") else logging.INFO
    if not credentials_logger.isEnabledFor(level):
        return
    credentials_logger.log(
        level,
        "credentials %s: customer=%r reason=%s ttl=%s username=%r: %s",
        action,
        customer,
        reason,
        ttl if ttl is not None else "-",
        username,
        detail,
        extra={"turnmeter_audit": fields},
    )
