"""Client settings: a frozen dataclass built by small pure helpers from arguments and env."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from turnmeter.auth import Auth, BearerToken, GlobalApiKey, NoAuth, Secret
from turnmeter.errors import ConfigError

if TYPE_CHECKING:
    from turnmeter.transport.ratelimit import RateBudget
    from turnmeter.transport.retry import RetryPolicy
from turnmeter.validate import positive_int, seconds

CLOUDFLARE_GRAPHQL_ENDPOINT = "https://api.cloudflare.com/client/v4/graphql"
ENV_TOKEN = "CLOUDFLARE_API_TOKEN"
ENV_ACCOUNT = "CLOUDFLARE_ACCOUNT_ID"
ENV_ENDPOINT = "TURNMETER_ENDPOINT"

#: Seconds for a whole request; Cloudflare answers large groupings in a few seconds.
DEFAULT_TIMEOUT = 60.0
#: Seconds to open a connection.
DEFAULT_CONNECT_TIMEOUT = 10.0
#: Requests one client sends at once; Cloudflare refuses "too many queries in progress".
DEFAULT_MAX_CONCURRENCY = 8
#: Seconds ``close()`` waits for requests in flight before cancelling them.
DEFAULT_CLOSE_TIMEOUT = 10.0
#: Largest response body accepted, as sent and once decompressed (bytes). A real answer
#: (10,000 rows) is a few MB; 64 MiB is generous, and stops a hostile body or a gzip bomb
#: long before it eats the process's memory.
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """Everything a client needs to reach one account; the token is wrapped in :class:`Secret`."""

    account_tag: str
    auth: Auth = field(default_factory=NoAuth)
    endpoint: str = CLOUDFLARE_GRAPHQL_ENDPOINT
    timeout: float = DEFAULT_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    # The transport's types are imported when a client is configured, not with `turnmeter`
    # (asyncio, sqlite3 and email stay out of `from turnmeter import TurnUsage`).
    retry: RetryPolicy = field(default_factory=lambda: _types()[0]())
    rate_budget: RateBudget = field(default_factory=lambda: _types()[1]())
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    cache_ttl: float | None = None
    close_timeout: float = DEFAULT_CLOSE_TIMEOUT
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_server_wait: float = field(default_factory=lambda: _types()[2])

    def __post_init__(self) -> None:
        # Every value is checked here, once: a nan timeout would mean no timeout at all, an
        # infinite one overflows aiohttp's timers, a string fails mid-request.
        seconds("timeout", self.timeout)
        seconds("connect_timeout", self.connect_timeout)
        seconds("close_timeout", self.close_timeout, allow_zero=True)
        seconds("max_server_wait", self.max_server_wait)
        if self.cache_ttl is not None:
            seconds("cache_ttl", self.cache_ttl)
        positive_int("max_concurrency", self.max_concurrency)
        positive_int("max_response_bytes", self.max_response_bytes)
        retry_policy, rate_budget, _ = _types()
        _check_type("retry", self.retry, retry_policy)
        _check_type("rate_budget", self.rate_budget, rate_budget)
        _check_type("auth", self.auth, BearerToken | GlobalApiKey | NoAuth)
        if not isinstance(self.endpoint, str):
            raise ConfigError(f"endpoint must be a URL string, got {type(self.endpoint).__name__}")


def _types() -> tuple[type[RetryPolicy], type[RateBudget], float]:
    from turnmeter.transport.classify import DEFAULT_MAX_SERVER_WAIT
    from turnmeter.transport.ratelimit import RateBudget
    from turnmeter.transport.retry import RetryPolicy

    return RetryPolicy, RateBudget, DEFAULT_MAX_SERVER_WAIT


def _check_type(name: str, value: object, expected: Any) -> None:
    if not isinstance(value, expected):
        raise ConfigError(f"{name} has the wrong type: {type(value).__name__}")


def resolve_settings(
    *,
    account_tag: str | None,
    api_token: str | Secret | None,
    endpoint: str | None,
    timeout: float | None = None,
    environ: Mapping[str, str] | None = None,
) -> ClientSettings:
    """Explicit arguments first, then ``CLOUDFLARE_*`` / ``TURNMETER_*`` environment variables.

    ``TURNMETER_REDIS_URL`` makes the default rate budget the Redis one (a budget passed to the
    client explicitly wins).
    """
    env = os.environ if environ is None else environ
    tag = account_tag or env.get(ENV_ACCOUNT, "")
    if not tag:
        raise ConfigError(f"no account: pass account_tag= or set {ENV_ACCOUNT}")
    if not tag.isalnum():
        raise ConfigError("account tag must be the 32-character hexadecimal account id")
    token = api_token if api_token is not None else env.get(ENV_TOKEN)
    if token is not None and not isinstance(token, str | Secret):
        raise ConfigError(f"api_token must be a string, got {type(token).__name__}")
    url = endpoint or env.get(ENV_ENDPOINT) or CLOUDFLARE_GRAPHQL_ENDPOINT
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"endpoint must be an http(s) URL, got {url[:80]!r}")
    if not token and url == CLOUDFLARE_GRAPHQL_ENDPOINT:
        raise ConfigError(f"no API token: set {ENV_TOKEN} (Account Analytics: Read)")
    auth: Auth = NoAuth()
    if token:
        auth = BearerToken(token if isinstance(token, Secret) else Secret(token))
    from turnmeter.transport.redis_url import ENV_REDIS_URL

    redis_url = env.get(ENV_REDIS_URL)
    rate_budget = _types()[1]
    return ClientSettings(
        account_tag=tag,
        auth=auth,
        endpoint=url,
        timeout=timeout if timeout is not None else DEFAULT_TIMEOUT,
        rate_budget=rate_budget(url=redis_url) if redis_url else rate_budget(),
    )


def with_resilience(settings: ClientSettings, **changes: Any) -> ClientSettings:
    """``settings`` with the given fields (retry, budget, concurrency, cache, bounds) replaced;
    None keeps a field as it is (the keywords are :class:`~turnmeter.client.TurnUsage`'s)."""
    given = {name: value for name, value in changes.items() if value is not None}
    return replace(settings, **given) if given else settings
