"""turnmeter: an async, typed client for Cloudflare Realtime TURN usage.

Names are imported on first use, so that ``import turnmeter.cli`` (and ``turnmeter --help``)
does not pay for aiohttp, pydantic and the generated client.
"""

from __future__ import annotations

# Not typing.TYPE_CHECKING: importing typing alone is a third of `turnmeter --help`'s budget.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    __version__: str
    from turnmeter.accounts import AccountResult, AccountsAnswer, across_accounts
    from turnmeter.auth import BearerToken, GlobalApiKey, Secret
    from turnmeter.budget import BudgetDecision, BudgetGuard, MonthToDate, UnknownUsage
    from turnmeter.client import TurnUsage
    from turnmeter.credentials import (
        CustomerMeter,
        IceServer,
        IceServers,
        IceTransport,
        IssueDecision,
        IssuePolicy,
        OnRefusal,
        TurnCredentials,
    )
    from turnmeter.errors import (
        AuthError,
        BudgetUnknown,
        ConfigError,
        CredentialRefused,
        GraphQLErrorDetail,
        GraphQLErrors,
        HTTPStatusError,
        IncompleteAnswer,
        InvalidQuery,
        LedgerError,
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
    from turnmeter.ledger import Ledger
    from turnmeter.pricing import Pricing, RealtimeEgress
    from turnmeter.query import Condition, F, Query, QueryRow
    from turnmeter.rows import (
        CustomerKeyUsage,
        CustomerUsage,
        DatasetLimits,
        KeyUsage,
        SeriesPoint,
        UsageTotals,
    )
    from turnmeter.sfu import AppUsage, SfuSeriesPoint, SfuUsage
    from turnmeter.transport.cache import Answer, with_age
    from turnmeter.transport.ratelimit import RateBudget, RateLimiter, RateMode
    from turnmeter.transport.retry import RetryEvent, RetryPolicy

_ERRORS = (
    "AuthError",
    "BudgetUnknown",
    "ConfigError",
    "CredentialRefused",
    "GraphQLErrorDetail",
    "GraphQLErrors",
    "HTTPStatusError",
    "IncompleteAnswer",
    "InvalidQuery",
    "LedgerError",
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

_CREDENTIALS = (
    "CustomerMeter",
    "IceServer",
    "IceServers",
    "IceTransport",
    "IssueDecision",
    "IssuePolicy",
    "OnRefusal",
    "TurnCredentials",
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
    "Ledger": ("turnmeter.ledger", "Ledger"),
    "Pricing": ("turnmeter.pricing", "Pricing"),
    "RealtimeEgress": ("turnmeter.pricing", "RealtimeEgress"),
    "AccountResult": ("turnmeter.accounts", "AccountResult"),
    "AccountsAnswer": ("turnmeter.accounts", "AccountsAnswer"),
    "across_accounts": ("turnmeter.accounts", "across_accounts"),
    "AppUsage": ("turnmeter.sfu", "AppUsage"),
    "SfuSeriesPoint": ("turnmeter.sfu", "SfuSeriesPoint"),
    "SfuUsage": ("turnmeter.sfu", "SfuUsage"),
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
    **{name: ("turnmeter.credentials", name) for name in _CREDENTIALS},
}

__all__ = [
    "AccountResult",
    "AccountsAnswer",
    "Answer",
    "AppUsage",
    "AuthError",
    "BearerToken",
    "BudgetDecision",
    "BudgetGuard",
    "BudgetUnknown",
    "Condition",
    "ConfigError",
    "CredentialRefused",
    "CustomerKeyUsage",
    "CustomerMeter",
    "CustomerUsage",
    "DatasetLimits",
    "F",
    "GlobalApiKey",
    "GraphQLErrorDetail",
    "GraphQLErrors",
    "HTTPStatusError",
    "IceServer",
    "IceServers",
    "IceTransport",
    "IncompleteAnswer",
    "InvalidQuery",
    "IssueDecision",
    "IssuePolicy",
    "KeyUsage",
    "Ledger",
    "LedgerError",
    "LimitExceeded",
    "MalformedResponse",
    "MergeError",
    "MonthToDate",
    "OnRefusal",
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
    "RealtimeEgress",
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
    "SfuSeriesPoint",
    "SfuUsage",
    "StoreUnavailable",
    "TransportError",
    "TruncatedResult",
    "TurnCredentials",
    "TurnUsage",
    "TurnmeterError",
    "UnknownUsage",
    "UnreadableBody",
    "UsageTotals",
    "__version__",
    "across_accounts",
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
    import importlib  # here, not at the top: `turnmeter --help` never needs it

    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
