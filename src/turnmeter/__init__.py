"""turnmeter: an async, typed client for Cloudflare Realtime TURN usage.

Names are imported on first use, so that ``import turnmeter.cli`` (and ``turnmeter --help``)
does not pay for aiohttp, pydantic and the generated client.
"""

from __future__ import annotations

from turnmeter.lazy import lazy_getattr

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

#: Module -> the public names it gives, each imported on first use (see :mod:`turnmeter.lazy`).
_LAZY: dict[str, tuple[str, ...]] = {
    "turnmeter.generated": ("OrderBy",),
    "turnmeter.auth": ("BearerToken", "GlobalApiKey", "Secret"),
    "turnmeter.client": ("TurnUsage",),
    "turnmeter.transport.cache": ("Answer", "with_age"),
    "turnmeter.budget": ("BudgetDecision", "BudgetGuard", "MonthToDate", "UnknownUsage"),
    "turnmeter.ledger": ("Ledger",),
    "turnmeter.pricing": ("Pricing", "RealtimeEgress"),
    "turnmeter.accounts": ("AccountResult", "AccountsAnswer", "across_accounts"),
    "turnmeter.sfu": ("AppUsage", "SfuSeriesPoint", "SfuUsage"),
    "turnmeter.query": ("Condition", "F", "Query", "QueryRow"),
    "turnmeter.transport.ratelimit": ("RateBudget", "RateLimiter", "RateMode"),
    "turnmeter.transport.retry": ("RetryEvent", "RetryPolicy"),
    "turnmeter.errors": (
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
    ),
    "turnmeter.rows": (
        "CustomerKeyUsage",
        "CustomerUsage",
        "DatasetLimits",
        "KeyUsage",
        "SeriesPoint",
        "UsageTotals",
    ),
    "turnmeter.credentials.api": ("TurnCredentials",),
    "turnmeter.credentials.ice": ("IceServer", "IceServers", "IceTransport"),
    "turnmeter.credentials.policy": ("CustomerMeter", "IssueDecision", "IssuePolicy", "OnRefusal"),
}
_lazy_getattr = lazy_getattr(__name__, _LAZY, globals())

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
    return _lazy_getattr(name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
