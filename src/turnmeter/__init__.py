"""turnmeter: an async, typed client for Cloudflare Realtime TURN usage.

Names are imported on first use, so that ``import turnmeter.cli`` (and ``turnmeter --help``)
does not pay for aiohttp, pydantic and the generated client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    __version__: str
    from turnmeter.auth import BearerToken, GlobalApiKey, Secret
    from turnmeter.budget import BudgetDecision, BudgetGuard, MonthToDate, UnknownUsage
    from turnmeter.client import TurnUsage
    from turnmeter.errors import (
        AuthError,
        BudgetUnknown,
        ConfigError,
        GraphQLErrorDetail,
        GraphQLErrors,
        HTTPStatusError,
        InvalidQuery,
        LimitExceeded,
        MalformedResponse,
        MergeError,
        Overloaded,
        QueryError,
        RateLimited,
        RedirectRefused,
        RequestTimeout,
        ResponseError,
        ResponseTooLarge,
        SchemaError,
        ServerError,
        StoreUnavailable,
        TransportError,
        TruncatedResult,
        TurnmeterError,
        UnreadableBody,
    )
    from turnmeter.generated import OrderBy
    from turnmeter.pricing import Pricing
    from turnmeter.query import Condition, F, Query, QueryRow
    from turnmeter.rows import (
        CustomerKeyUsage,
        CustomerUsage,
        DatasetLimits,
        KeyUsage,
        SeriesPoint,
        UsageTotals,
    )
    from turnmeter.transport.cache import Answer, with_age
    from turnmeter.transport.ratelimit import RateBudget, RateLimiter, RateMode
    from turnmeter.transport.retry import RetryEvent, RetryPolicy

_ERRORS = (
    "AuthError",
    "BudgetUnknown",
    "ConfigError",
    "GraphQLErrorDetail",
    "GraphQLErrors",
    "HTTPStatusError",
    "InvalidQuery",
    "LimitExceeded",
    "MalformedResponse",
    "MergeError",
    "Overloaded",
    "QueryError",
    "RateLimited",
    "RedirectRefused",
    "RequestTimeout",
    "ResponseError",
    "ResponseTooLarge",
    "SchemaError",
    "ServerError",
    "StoreUnavailable",
    "TransportError",
    "TruncatedResult",
    "TurnmeterError",
    "UnreadableBody",
)
_ROWS = (
    "CustomerKeyUsage",
    "CustomerUsage",
    "DatasetLimits",
    "KeyUsage",
    "SeriesPoint",
    "UsageTotals",
)

#: Public name -> (module, attribute in that module).
_LAZY: dict[str, tuple[str, str]] = {
    "OrderBy": ("turnmeter.generated", "OrderBy"),
    "BearerToken": ("turnmeter.auth", "BearerToken"),
    "GlobalApiKey": ("turnmeter.auth", "GlobalApiKey"),
    "Secret": ("turnmeter.auth", "Secret"),
    "TurnUsage": ("turnmeter.client", "TurnUsage"),
    "Answer": ("turnmeter.transport.cache", "Answer"),
    "with_age": ("turnmeter.transport.cache", "with_age"),
    "BudgetDecision": ("turnmeter.budget", "BudgetDecision"),
    "BudgetGuard": ("turnmeter.budget", "BudgetGuard"),
    "MonthToDate": ("turnmeter.budget", "MonthToDate"),
    "UnknownUsage": ("turnmeter.budget", "UnknownUsage"),
    "Pricing": ("turnmeter.pricing", "Pricing"),
    "Condition": ("turnmeter.query", "Condition"),
    "F": ("turnmeter.query", "F"),
    "Query": ("turnmeter.query", "Query"),
    "QueryRow": ("turnmeter.query", "QueryRow"),
    "RateBudget": ("turnmeter.transport.ratelimit", "RateBudget"),
    "RateLimiter": ("turnmeter.transport.ratelimit", "RateLimiter"),
    "RateMode": ("turnmeter.transport.ratelimit", "RateMode"),
    "RetryEvent": ("turnmeter.transport.retry", "RetryEvent"),
    "RetryPolicy": ("turnmeter.transport.retry", "RetryPolicy"),
    **{name: ("turnmeter.errors", name) for name in _ERRORS},
    **{name: ("turnmeter.rows", name) for name in _ROWS},
}

__all__ = [
    "Answer",
    "AuthError",
    "BearerToken",
    "BudgetDecision",
    "BudgetGuard",
    "BudgetUnknown",
    "Condition",
    "ConfigError",
    "CustomerKeyUsage",
    "CustomerUsage",
    "DatasetLimits",
    "F",
    "GlobalApiKey",
    "GraphQLErrorDetail",
    "GraphQLErrors",
    "HTTPStatusError",
    "InvalidQuery",
    "KeyUsage",
    "LimitExceeded",
    "MalformedResponse",
    "MergeError",
    "MonthToDate",
    "OrderBy",
    "Overloaded",
    "Pricing",
    "Query",
    "QueryError",
    "QueryRow",
    "RateBudget",
    "RateLimited",
    "RateLimiter",
    "RateMode",
    "RedirectRefused",
    "RequestTimeout",
    "ResponseError",
    "ResponseTooLarge",
    "RetryEvent",
    "RetryPolicy",
    "SchemaError",
    "Secret",
    "SeriesPoint",
    "ServerError",
    "StoreUnavailable",
    "TransportError",
    "TruncatedResult",
    "TurnUsage",
    "TurnmeterError",
    "UnknownUsage",
    "UnreadableBody",
    "UsageTotals",
    "__version__",
    "with_age",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from turnmeter.version import package_version

        globals()[name] = version = package_version()
        return version
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'turnmeter' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
