"""turnmeter: an async, typed client for Cloudflare Realtime TURN usage."""

from cf_analytics import AccountCallsTurnUsageAdaptiveGroupsOrderBy as OrderBy

from turnmeter.auth import BearerToken, GlobalApiKey, Secret
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
    RequestTimeout,
    ResponseError,
    SchemaError,
    ServerError,
    TransportError,
    TurnmeterError,
    UnreadableBody,
)
from turnmeter.rows import (
    CustomerKeyUsage,
    CustomerUsage,
    DatasetLimits,
    KeyUsage,
    SeriesPoint,
    UsageTotals,
)

__version__ = "0.1.0"

__all__ = [
    "AuthError",
    "BearerToken",
    "BudgetUnknown",
    "ConfigError",
    "CustomerKeyUsage",
    "CustomerUsage",
    "DatasetLimits",
    "GlobalApiKey",
    "GraphQLErrorDetail",
    "GraphQLErrors",
    "HTTPStatusError",
    "InvalidQuery",
    "KeyUsage",
    "LimitExceeded",
    "MalformedResponse",
    "MergeError",
    "OrderBy",
    "Overloaded",
    "QueryError",
    "RateLimited",
    "RequestTimeout",
    "ResponseError",
    "SchemaError",
    "Secret",
    "SeriesPoint",
    "ServerError",
    "TransportError",
    "TurnUsage",
    "TurnmeterError",
    "UnreadableBody",
    "UsageTotals",
    "__version__",
]
