"""Reading Cloudflare's answers: one function decides what kind of failure a response is.

Cloudflare reports many refusals with HTTP 200 and others with 4xx/5xx; the status alone is not
enough, and neither are the messages alone. :func:`classify_failure` looks at both (and at
``extensions.code`` and ``Retry-After``) and returns the exception to raise. The exception's
type then says everything the retry loop needs: :func:`retry_verdict` maps it to "final",
"retry now (with backoff)" or "retry after ``retry_after`` seconds".
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
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
    TransportError,
    UnreadableBody,
)

#: "rate limiter budget depleted, try again after 5 minutes"
_TRY_AGAIN_AFTER = re.compile(
    r"try again after (\d+(?:\.\d+)?)\s*(second|minute|hour)s?", re.IGNORECASE
)
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
        seconds = _retry_after_header(header)
        if seconds is not None:
            return seconds
    match = _TRY_AGAIN_AFTER.search(text)
    if match:
        return float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    return DEFAULT_RATE_LIMIT_WAIT


def _retry_after_header(value: str) -> float | None:
    # Retry-After is either delta-seconds or an HTTP date (RFC 9110, section 10.2.3).
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _has(text: str, markers: tuple[str, ...]) -> bool:
    return any(marker in text for marker in markers)


class Retry(enum.Enum):
    """What a failure allows: never retry, retry with backoff, or retry after a given wait."""

    FINAL = "final"
    BACKOFF = "backoff"
    AFTER = "after"


@dataclass(frozen=True, slots=True)
class RetryVerdict:
    """The retry loop's reading of one failure; ``after`` is set for :attr:`Retry.AFTER`."""

    retry: Retry
    after: float | None = None


_FINAL = RetryVerdict(Retry.FINAL)
_BACKOFF = RetryVerdict(Retry.BACKOFF)


def retry_verdict(exc: BaseException) -> RetryVerdict:
    """Whether (and when) the request that raised ``exc`` may be sent again.

    Retried: timeouts, connection failures, overload and 5xx answers, unreadable bodies
    (truncated, HTML), and rate limits (after their ``retry_after``). Never retried: auth,
    invalid queries, node limits, malformed-but-readable answers, configuration errors.
    """
    if isinstance(exc, RateLimited):
        return RetryVerdict(Retry.AFTER, exc.retry_after or 0.0)
    if isinstance(exc, TransportError | Overloaded | ServerError):  # timeouts too
        return _BACKOFF
    if isinstance(exc, UnreadableBody):
        return _BACKOFF
    if isinstance(exc, HTTPStatusError) and exc.status is not None and exc.status >= 500:
        return _BACKOFF
    return _FINAL
