"""Reading Cloudflare's answers: one function decides what kind of failure a response is.

Cloudflare reports many refusals with HTTP 200 and others with 4xx/5xx; the status alone is not
enough, and neither are the messages alone. :func:`classify_failure` looks at both (and at
``extensions.code`` and ``Retry-After``) and returns the exception to raise. The exception's
type then says everything the retry loop needs: :func:`retry_verdict` maps it to "final",
"retry now (with backoff)" or "retry after ``retry_after`` seconds".
"""

from __future__ import annotations

import enum
import math
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
from turnmeter.transport.redact import NO_REDACTION, Redactor

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
#: The longest wait a server may impose (seconds): Cloudflare's budget is 300 queries per
#: 5 minutes, so after one window it has refilled; a longer Retry-After (1e9, a year-9999
#: date, "99999 hours") is absurd and would stall the client and its shared budget for good.
DEFAULT_MAX_SERVER_WAIT = 300.0
#: Retry-After's delta-seconds (digits; a fraction is tolerated), surrounding spaces allowed.
_DELTA_SECONDS = re.compile(r"\s*\d+(?:\.\d+)?\s*")


def parse_errors(raw: Any, redactor: Redactor = NO_REDACTION) -> list[GraphQLErrorDetail]:
    """Cloudflare's ``errors`` list as details; tolerant of null paths and odd entries.

    ``redactor`` hides credentials a server may have echoed into the errors.
    """
    if not isinstance(raw, list):
        return []
    details = []
    for entry in raw:
        if not isinstance(entry, Mapping):
            # Redacted before cutting, so that no half of a secret is left at the cut.
            details.append(GraphQLErrorDetail(message=redactor.text(str(entry))[:500]))
            continue
        message = entry.get("message")
        path = entry.get("path")
        extensions = entry.get("extensions")
        detail = GraphQLErrorDetail(
            message=message if isinstance(message, str) else "error without a message",
            path=_path(path),
            extensions=dict(extensions) if isinstance(extensions, Mapping) else {},
        )
        details.append(redactor.detail(detail))
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
    max_wait: float = DEFAULT_MAX_SERVER_WAIT,
) -> ResponseError:
    """The exception for a failed response, from its status, ``errors`` and headers.

    A rate limit's ``retry_after`` is at most ``max_wait`` seconds, whatever the server says.
    """
    headers = headers or {}
    if not errors:
        return _status_only(status, headers, operation, max_wait)
    text = " | ".join(error.message for error in errors).lower()
    codes = {error.code for error in errors if error.code}
    kind = _kind(status, text, codes)
    if kind is RateLimited:
        return RateLimited(
            errors,
            status=status,
            operation=operation,
            retry_after=_retry_after(headers, text, max_wait),
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


def _status_only(
    status: int, headers: Mapping[str, str], operation: str | None, max_wait: float
) -> ResponseError:
    detail = [GraphQLErrorDetail(message=f"HTTP {status} without a GraphQL error body")]
    if status == 429:
        return RateLimited(
            detail,
            status=status,
            operation=operation,
            retry_after=_retry_after(headers, "", max_wait),
        )
    if status in (401, 403):
        return AuthError(detail, status=status, operation=operation)
    if status in (502, 503, 504):
        return Overloaded(detail, status=status, operation=operation)
    if status >= 500:
        return ServerError(detail, status=status, operation=operation)
    where = f"{operation}: " if operation else ""
    return HTTPStatusError(f"{where}HTTP {status} without a GraphQL error body", status=status)


def _retry_after(headers: Mapping[str, str], text: str, max_wait: float) -> float:
    header = _header(headers, "Retry-After")
    seconds = _retry_after_header(header) if header is not None else None
    if seconds is None:
        match = _TRY_AGAIN_AFTER.search(text)
        if match:
            seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
    return bound_wait(DEFAULT_RATE_LIMIT_WAIT if seconds is None else seconds, max_wait)


def bound_wait(seconds: float, max_wait: float = DEFAULT_MAX_SERVER_WAIT) -> float:
    """A server-given wait as a finite number of seconds in ``[0, max_wait]``.

    Infinity (a digit string too long for a float) means "long": the bound. NaN never gets
    here (the parsers refuse it), but would also become the bound rather than escape.
    """
    if math.isnan(seconds) or seconds > max_wait:
        return max_wait
    return max(0.0, seconds)


def _retry_after_header(value: str) -> float | None:
    # Retry-After is either delta-seconds or an HTTP date (RFC 9110, section 10.2.3); anything
    # else ("inf", "nan", "-5", "1e400") is not a Retry-After and is ignored.
    if _DELTA_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
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
        # Any RateLimited (a hand-made one too) yields a sane wait: no nan, nothing negative;
        # an infinite one stays infinite and so exceeds every total_time.
        after = exc.retry_after or 0.0
        return RetryVerdict(
            Retry.AFTER, DEFAULT_MAX_SERVER_WAIT if math.isnan(after) else max(0.0, after)
        )
    if isinstance(exc, TransportError | Overloaded | ServerError):  # timeouts too
        return _BACKOFF
    if isinstance(exc, UnreadableBody):
        return _BACKOFF
    if isinstance(exc, HTTPStatusError) and exc.status is not None and exc.status >= 500:
        return _BACKOFF
    return _FINAL
