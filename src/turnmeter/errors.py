"""turnmeter's exceptions: one tree, translated from lower layers at one boundary.

::

    TurnmeterError
    ├── ConfigError                 wrong or missing settings, bad user arguments
    ├── QueryError                  a query turnmeter refuses before sending it
    │   └── MergeError              results that cannot be merged exactly (averages across windows)
    ├── SchemaError                 a schema input that cannot be read, pruned or generated from
    ├── TransportError              the request did not complete (connection, timeout, TLS)
    │   └── RequestTimeout
    ├── ResponseError               an answer came back, but it is a failure
    │   ├── HTTPStatusError         non-2xx status without a more specific reading
    │   │   └── RedirectRefused     a 3xx: redirects are never followed (credentials stay put)
    │   ├── ResponseTooLarge        the body (or its decompression) exceeds max_response_bytes
    │   ├── MalformedResponse       not an object, missing data, wrong value types
    │   │   └── UnreadableBody      not JSON at all: truncated, an HTML error page (retryable)
    │   ├── TruncatedResult         more rows exist than the caller's limit (``rows``: the first)
    │   └── GraphQLErrors           the server's ``errors[]`` (status 200 or not)
    │       ├── AuthError           Unauthorized, not authorized for that account
    │       ├── RateLimited         budget depleted (retry_after)
    │       ├── Overloaded          too many queries in progress, 503s (retryable)
    │       ├── LimitExceeded       range too wide, data too old, limit too large, too many fields
    │       ├── InvalidQuery        unknown field, parse and validation errors
    │       └── ServerError         internal server error
    ├── BudgetUnknown               the budget guard cannot vouch for a fresh number
    ├── CredentialRefused           the issue policy refused to mint a TURN credential
    ├── LedgerError                 the usage ledger's store cannot be opened, read or written
    ├── IncompleteAnswer            some accounts of a several-account question are missing
    └── StoreUnavailable            the shared store (Redis) cannot be reached or refused us

Users catch these only; aiohttp, pydantic, graphql-core and redis exceptions never escape.
Every message is written so that it cannot contain the API token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class TurnmeterError(Exception):
    """Base of every exception turnmeter raises."""


class ConfigError(TurnmeterError):
    """Settings or arguments are missing or wrong; nothing was sent."""


class QueryError(TurnmeterError):
    """A query was refused before any request (unknown field, bad combination, over a limit)."""


class MergeError(QueryError):
    """Partial results cannot be merged exactly (for example averages across time windows)."""


class SchemaError(TurnmeterError):
    """A schema input cannot be read, pruned, diffed or generated from."""


class TransportError(TurnmeterError):
    """The request did not complete: connection refused or reset, TLS, truncated transfer."""


class RequestTimeout(TransportError):
    """The request took longer than the configured timeout."""


@dataclass(frozen=True, slots=True)
class GraphQLErrorDetail:
    """One entry of a GraphQL ``errors`` list, as the server sent it."""

    message: str
    path: tuple[str | int, ...] | None = None
    extensions: Mapping[str, Any] = field(default_factory=dict)

    @property
    def code(self) -> str | None:
        code = self.extensions.get("code")
        return code if isinstance(code, str) else None

    @property
    def ray_id(self) -> str | None:
        ray = self.extensions.get("ray_id")
        return ray if isinstance(ray, str) else None


class ResponseError(TurnmeterError):
    """The server answered, and the answer is a failure."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class HTTPStatusError(ResponseError):
    """A non-2xx status that carried no GraphQL error to read."""


class RedirectRefused(HTTPStatusError):
    """The server answered with a redirect; turnmeter follows none, so that no credential
    (``Authorization``, ``X-Auth-Key``) ever reaches another URL. ``location`` is the target,
    without its query string. Not retried: point ``endpoint`` at the target if it is right."""

    def __init__(self, message: str, *, status: int | None = None, location: str | None) -> None:
        super().__init__(message, status=status)
        self.location = location


class ResponseTooLarge(ResponseError):
    """The body, as sent or once decompressed, is larger than ``max_response_bytes``; reading
    stopped there. Not retried: narrow the query (a shorter range, a smaller ``limit``)."""

    def __init__(self, message: str, *, status: int | None = None, limit: int) -> None:
        super().__init__(message, status=status)
        self.limit = limit


class MalformedResponse(ResponseError):
    """The body is not the JSON shape a GraphQL server must send, or a value has the wrong type."""


class UnreadableBody(MalformedResponse):
    """The body is not JSON at all (truncated, or a proxy's HTML page); worth a retry."""


class TruncatedResult(ResponseError):
    """More rows exist than the ``limit`` the caller asked for: the answer would be cut.

    ``rows`` holds the first ``limit`` rows in the order asked, so nothing fetched is lost;
    call again without ``limit`` (every row, paged) or with a narrower range.
    """

    def __init__(self, message: str, *, rows: Sequence[Any], limit: int) -> None:
        super().__init__(message)
        self.rows = list(rows)
        self.limit = limit


class GraphQLErrors(ResponseError):
    """The server reported ``errors``; ``errors`` holds them all, the message names the first."""

    def __init__(
        self,
        errors: Sequence[GraphQLErrorDetail],
        *,
        status: int | None = None,
        operation: str | None = None,
    ) -> None:
        first = errors[0].message if errors else "unknown GraphQL error"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        where = f"{operation}: " if operation else ""
        super().__init__(f"{where}{first}{more}", status=status)
        self.errors = tuple(errors)
        self.operation = operation

    @property
    def ray_id(self) -> str | None:
        return next((e.ray_id for e in self.errors if e.ray_id), None)


class AuthError(GraphQLErrors):
    """The token is missing, wrong, or may not read this account. Not retried."""


class RateLimited(GraphQLErrors):
    """Cloudflare's query budget is spent; ``retry_after`` says when to try again (seconds)."""

    def __init__(
        self,
        errors: Sequence[GraphQLErrorDetail],
        *,
        status: int | None = None,
        operation: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(errors, status=status, operation=operation)
        self.retry_after = retry_after


class Overloaded(GraphQLErrors):
    """The server is busy (too many queries in progress, 503). Retryable soon."""


class LimitExceeded(GraphQLErrors):
    """The query exceeds a node limit: range too wide, data too old, limit or fields too many."""


class InvalidQuery(GraphQLErrors):
    """The server rejected the query itself (unknown field, parse or validation error)."""


class ServerError(GraphQLErrors):
    """The server failed internally (``Internal server error``)."""


class BudgetUnknown(TurnmeterError):
    """The budget guard has no answer fresh enough to vouch for (and the policy is fail closed)."""


class CredentialRefused(TurnmeterError):
    """The issue policy refused to mint a TURN credential; nothing was sent to Cloudflare.

    ``reason`` is ``"over_budget"`` (the account's month-to-date cost has reached the budget),
    ``"customer_over_cap"`` (this customer's month-to-date egress has reached its own cap) or
    ``"unknown"`` (no fresh number, and the guard fails closed); ``customer`` is the custom
    identifier asked for and ``decision`` the whole
    :class:`~turnmeter.credentials.IssueDecision` (numbers behind it included).
    """

    def __init__(self, message: str, *, reason: str, customer: str | None, decision: Any) -> None:
        super().__init__(message)
        self.reason = reason
        self.customer = customer
        self.decision = decision


class LedgerError(TurnmeterError):
    """The usage ledger's store cannot be opened, migrated, read or written. The message names
    the store with any password hidden."""


class IncompleteAnswer(TurnmeterError):
    """Some accounts of a several-account question did not answer (:mod:`turnmeter.accounts`).

    ``answer`` is the :class:`~turnmeter.accounts.AccountsAnswer`: what did answer, and which
    accounts are missing and why.
    """

    def __init__(self, message: str, answer: Any) -> None:
        super().__init__(message)
        self.answer = answer


class StoreUnavailable(TurnmeterError):
    """The shared store (Redis) cannot be reached in time, or refused a command.

    The message names the store by its URL with any password hidden, never the password.
    """
