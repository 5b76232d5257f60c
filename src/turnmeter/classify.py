"""Reading Cloudflare's answers: one function decides what kind of failure a response is.

Cloudflare reports many refusals with HTTP 200 and others with 4xx/5xx; the status alone is not
enough, and neither are the messages alone. :func:`classify_failure` looks at both (and at
``extensions.code`` and ``Retry-After``) and returns the exception to raise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from turnmeter.errors import (
    AuthError,
    GraphQLErrorDetail,
    GraphQLErrors,
    HTTPStatusError,
    InvalidQuery,
    LimitExceeded,
    Overloaded,
    RateLimited,
    ResponseError,
    ServerError,
)

#: "rate limiter budget depleted, try again after 5 minutes"
_TRY_AGAIN_AFTER = re.compile(r"try again after (\d+)\s*(second|minute|hour)s?", re.IGNORECASE)
_UNIT_SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}

_RATE_LIMIT_MARKERS = ("rate limiter budget depleted", "rate limit")
_OVERLOAD_MARKERS = (
    "too many queries in progress",
    "unable to execute query",
    "please try again later",
)
_LIMIT_MARKERS = (
    "cannot request a time range wider than",
    "cannot request data older than",
    "limit must be positive number",
    "number of fields can't be more than",
    "consumed excessive resources",
)
_AUTH_MARKERS = ("unauthorized", "not authorized", "authentication error", "forbidden")
_INVALID_MARKERS = (
    "unknown field",
    "error parsing args",
    "query contains error",
    "cannot query field",
    "unknown argument",
    "unknown type",
    "syntax error",
    "expected type",
    "variable",
)
_INTERNAL_MARKERS = ("internal server error",)

#: Retry-After when Cloudflare says "try again after 5 minutes" without a header.
DEFAULT_RATE_LIMIT_WAIT = 300.0


def parse_errors(raw: Any) -> list[GraphQLErrorDetail]:
    """Cloudflare's ``errors`` list as details; tolerant of null paths and odd entries."""
    if not isinstance(raw, list):
        return []
    details = []
    for entry in raw:
        if not isinstance(entry, Mapping):
            details.append(GraphQLErrorDetail(message=str(entry)[:500]))
            continue
        message = entry.get("message")
        path = entry.get("path")
        extensions = entry.get("extensions")
        details.append(
            GraphQLErrorDetail(
                message=message if isinstance(message, str) else "error without a message",
                path=_path(path),
                extensions=dict(extensions) if isinstance(extensions, Mapping) else {},
            )
        )
    return details


def _path(raw: Any) -> tuple[str | int, ...] | None:
    # Cloudflare sends null paths and sometimes list indices as strings.
    if not isinstance(raw, list):
        return None
    return tuple(part for part in raw if isinstance(part, str | int))


def classify_failure(
    status: int,
    errors: Sequence[GraphQLErrorDetail],
    headers: Mapping[str, str] | None = None,
    *,
    operation: str | None = None,
) -> ResponseError:
    """The exception for a failed response, from its status, ``errors`` and headers."""
    headers = headers or {}
    if not errors:
        return _status_only(status, headers, operation)
    text = " | ".join(error.message for error in errors).lower()
    codes = {error.code for error in errors if error.code}
    kind = _kind(status, text, codes)
    if kind is RateLimited:
        return RateLimited(
            errors, status=status, operation=operation, retry_after=_retry_after(headers, text)
        )
    return kind(errors, status=status, operation=operation)


def _kind(status: int, text: str, codes: set[str]) -> type[GraphQLErrors]:
    if "budget" in codes or (status == 429 and not _has(text, _LIMIT_MARKERS)):
        return RateLimited
    if _has(text, _RATE_LIMIT_MARKERS):
        return RateLimited
    if "authz" in codes or "authn" in codes or status in (401, 403) or _has(text, _AUTH_MARKERS):
        return AuthError
    if _has(text, _OVERLOAD_MARKERS) or status == 503:
        return Overloaded
    if "quota" in codes or _has(text, _LIMIT_MARKERS):
        return LimitExceeded
    if _has(text, _INTERNAL_MARKERS) or status >= 500:
        return ServerError
    if _has(text, _INVALID_MARKERS) or status == 400:
        return InvalidQuery
    return GraphQLErrors


def _status_only(status: int, headers: Mapping[str, str], operation: str | None) -> ResponseError:
    detail = [GraphQLErrorDetail(message=f"HTTP {status} without a GraphQL error body")]
    if status == 429:
        return RateLimited(
            detail, status=status, operation=operation, retry_after=_retry_after(headers, "")
        )
    if status in (401, 403):
        return AuthError(detail, status=status, operation=operation)
    if status in (502, 503, 504):
        return Overloaded(detail, status=status, operation=operation)
    if status >= 500:
        return ServerError(detail, status=status, operation=operation)
    where = f"{operation}: " if operation else ""
    return HTTPStatusError(f"{where}HTTP {status} without a GraphQL error body", status=status)


def _retry_after(headers: Mapping[str, str], text: str) -> float:
    header = _header(headers, "Retry-After")
    if header is not None:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass  # an HTTP date; fall through to the message
    match = _TRY_AGAIN_AFTER.search(text)
    if match:
        return float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    return DEFAULT_RATE_LIMIT_WAIT


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _has(text: str, markers: tuple[str, ...]) -> bool:
    return any(marker in text for marker in markers)
