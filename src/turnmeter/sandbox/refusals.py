"""The refusals the sandbox sends, in Cloudflare's wording (CLOUDFLARE_API.md, "Errors")."""

from __future__ import annotations

UNAUTHORIZED = "Unauthorized"
NOT_AUTHORIZED_FOR_ACCOUNT = "not authorized for that account"
RATE_LIMITED = "rate limiter budget depleted, try again after 5 minutes"
OVERLOADED = "too many queries in progress, please try again later"
INTERNAL = "Internal server error"
QUERY_CONTAINS_ERROR = "query contains error, please review it and retry"

_UNITS = (("w", 7 * 86400 * 1000), ("d", 86400 * 1000), ("h", 3600 * 1000), ("m", 60 * 1000))


class Refusal(Exception):
    """A request the sandbox refuses: the message Cloudflare sends, its status and code."""

    def __init__(self, message: str, *, status: int = 400, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


def format_duration(seconds: float) -> str:
    """Cloudflare's compact duration: ``4w3d``, ``38w2d15h32m42s924ms``; ``0s`` for zero."""
    millis = round(seconds * 1000)
    parts: list[str] = []
    for unit, size in _UNITS:
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{unit}")
    whole, millis = divmod(millis, 1000)
    if whole:
        parts.append(f"{whole}s")
    if millis:
        parts.append(f"{millis}ms")
    return "".join(parts) or "0s"


def too_wide(account_tag: str, max_duration: int, spans: float) -> Refusal:
    """The time range is wider than ``maxDuration``."""
    return Refusal(
        f'account "{account_tag}" cannot request a time range wider than '
        f"{format_duration(max_duration)}, but your query time range spans "
        f"{format_duration(spans)}",
        code="quota",
    )


def too_old(account_tag: str, not_older_than: int, age: float) -> Refusal:
    """The time range starts earlier than ``notOlderThan`` before the sandbox clock."""
    return Refusal(
        f'account "{account_tag}" cannot request data older than '
        f"{format_duration(not_older_than)}, but your query requests data from "
        f"{format_duration(age)} ago",
    )


def bad_limit(max_page_size: int) -> Refusal:
    """``limit`` is zero or above ``maxPageSize``."""
    return Refusal(f"limit must be positive number and not greater than {max_page_size}")


def too_many_fields(max_number_of_fields: int) -> Refusal:
    """More fields selected than ``maxNumberOfFields``."""
    return Refusal(f"number of fields can't be more than {max_number_of_fields}")


def not_enabled(account_tag: str, dataset: str = "callsTurnUsageAdaptiveGroups") -> Refusal:
    """The dataset is switched off for the account (``NodeLimits.enabled=False``); our wording."""
    return Refusal(
        f'account "{account_tag}" does not have access to {dataset}',
        status=403,
        code="authz",
    )


# The sandbox's own bounds (guards.py). Cloudflare does not document its wording or codes for
# these, so the codes name the bound; every one is a 400 like any other query Cloudflare rejects.


def too_deep(max_depth: int) -> Refusal:
    """The body, its variables or the query text nest deeper than ``max_depth``."""
    return Refusal(f"request is nested deeper than {max_depth} levels", code="too_deep")


def too_large(what: str, size: int, limit: int, unit: str) -> Refusal:
    """The body or the query text is longer than ``limit``."""
    return Refusal(
        f"{what} is {size:,} {unit} long, more than the limit of {limit:,}", code="too_large"
    )


def too_many_items(limit: int) -> Refusal:
    """The variables hold more list items than ``limit`` in all."""
    return Refusal(f"variables hold more than {limit:,} list items in all", code="too_complex")


def too_many_tokens(limit: int) -> Refusal:
    """The query text has more lexical tokens than ``limit``."""
    return Refusal(f"query has more than {limit:,} tokens", code="too_complex")
