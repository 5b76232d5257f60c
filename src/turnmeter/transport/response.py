"""The response boundary: one body's status, headers and bytes become ``data`` or an error.

Cloudflare reports rate limits, node limits and auth failures as ``errors`` with status 200,
so the body is judged even on success; :func:`turnmeter.transport.classify.classify_failure` decides
which exception a failure is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from turnmeter.errors import MalformedResponse, UnreadableBody
from turnmeter.transport.classify import DEFAULT_MAX_SERVER_WAIT, classify_failure, parse_errors
from turnmeter.transport.redact import NO_REDACTION, Redactor

#: How much of an unreadable body an error message may quote.
BODY_EXCERPT = 120


def decode_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    operation: str | None = None,
    max_wait: float = DEFAULT_MAX_SERVER_WAIT,
    redactor: Redactor = NO_REDACTION,
) -> dict[str, Any]:
    """The ``data`` object of a GraphQL response, or the exception its status and body call for.

    A rate limit waits at most ``max_wait`` seconds; ``redactor`` hides credentials the server
    may have echoed into the body.
    """
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        payload = _NOT_JSON
    if payload is _NOT_JSON:
        # Raised outside the except clause: the JSONDecodeError (which holds the whole body)
        # is not kept as the hidden __context__.
        if status >= 400:
            raise classify_failure(status, [], headers, operation=operation, max_wait=max_wait)
        excerpt = redactor.excerpt(body, BODY_EXCERPT)
        raise UnreadableBody(
            f"{operation or 'response'}: body is not JSON (HTTP {status}, {len(body)} bytes, "
            f"starts {excerpt!r})",
            status=status,
        )
    if not isinstance(payload, dict):
        raise MalformedResponse(
            f"{operation or 'response'}: body is JSON {type(payload).__name__}, not an object",
            status=status,
        )
    raw_errors = payload.get("errors")
    if raw_errors not in (None, []):
        details = parse_errors(raw_errors, redactor)
        if not details:
            raise MalformedResponse(
                f"{operation or 'response'}: 'errors' is not a list", status=status
            )
        raise classify_failure(status, details, headers, operation=operation, max_wait=max_wait)
    if status >= 400:
        raise classify_failure(status, [], headers, operation=operation, max_wait=max_wait)
    data = payload.get("data")
    if not isinstance(data, dict):
        raise MalformedResponse(
            f"{operation or 'response'}: no 'data' object in the response", status=status
        )
    return data


#: Stands for "the body did not parse" (JSON's null is a valid, if wrong, body).
_NOT_JSON = object()
