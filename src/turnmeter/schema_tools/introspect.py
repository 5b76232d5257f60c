"""Pull a schema by introspection, keep the full result in a cache, prune it into ``schema/``.

The full introspection JSON (what Cloudflare answers, several MB) stays outside the committed
tree, in ``.turnmeter-cache/`` (gitignored); it is also the fastest input for ``diff`` and for
``generate --from`` (JSON loads far faster than 2.8 MB of SDL parses).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import orjson
from graphql import get_introspection_query

from turnmeter.auth import Auth, BearerToken, NoAuth, Secret
from turnmeter.errors import (
    ConfigError,
    MalformedResponse,
    Overloaded,
    RateLimited,
    ServerError,
    TransportError,
    UnreadableBody,
)
from turnmeter.schema_tools.store import PruneResult, prune_source, public_url, write_pruned
from turnmeter.settings import CLOUDFLARE_GRAPHQL_ENDPOINT, ENV_TOKEN, ClientSettings
from turnmeter.transport.http import AiohttpTransport, decode_response

DEFAULT_URL = CLOUDFLARE_GRAPHQL_ENDPOINT
#: Seconds for the whole introspection: Cloudflare's answer is ~11 MB with descriptions.
DEFAULT_PULL_TIMEOUT = 180.0
#: Tries in all (the first and the retries).
DEFAULT_ATTEMPTS = 4
#: Seconds before the first retry; doubled each time, capped at :data:`MAX_BACKOFF`.
DEFAULT_BACKOFF = 2.0
MAX_BACKOFF = 30.0
INTROSPECTION_OPERATION = "IntrospectionQuery"
#: Failures worth another try: the network, a busy or failing server, a garbled body.
_RETRYABLE: tuple[type[Exception], ...] = (
    TransportError,
    Overloaded,
    ServerError,
    UnreadableBody,
    RateLimited,
)


@dataclass(frozen=True, slots=True)
class PullResult:
    """Where a pull went: the endpoint (without credentials), the cache file, the prune."""

    url: str
    cache_file: Path
    sha256: str
    attempts: int
    pruned: PruneResult | None


async def fetch_introspection(
    url: str = DEFAULT_URL,
    *,
    auth: Auth | None = None,
    request_timeout: float = DEFAULT_PULL_TIMEOUT,
    attempts: int = DEFAULT_ATTEMPTS,
    backoff: float = DEFAULT_BACKOFF,
    session: aiohttp.ClientSession | None = None,
) -> tuple[bytes, int]:
    """The raw body of a successful introspection, and how many tries it took."""
    if attempts < 1:
        raise ConfigError("attempts must be at least 1")
    settings = ClientSettings(
        account_tag="", auth=auth or NoAuth(), endpoint=url, timeout=request_timeout
    )
    transport = AiohttpTransport(settings, session=session)
    body = orjson.dumps(
        {"query": get_introspection_query(), "operationName": INTROSPECTION_OPERATION}
    )
    try:
        for attempt in range(1, attempts + 1):
            try:
                status, headers, raw = await transport.post(body, INTROSPECTION_OPERATION)
                data = decode_response(
                    status,
                    headers,
                    raw,
                    operation=INTROSPECTION_OPERATION,
                    redactor=transport.redactor,
                )
            except _RETRYABLE as exc:
                wait = _wait(exc, attempt, backoff)
                if attempt == attempts or wait is None:
                    raise
                await asyncio.sleep(wait)
                continue
            if not isinstance(data.get("__schema"), dict):
                raise MalformedResponse("introspection answer has no data.__schema", status=status)
            return raw, attempt
    finally:
        await transport.close()
    raise AssertionError("unreachable")  # the loop returns or raises


async def pull(
    url: str = DEFAULT_URL,
    *,
    token: str | Secret | None = None,
    token_env: str | None = None,
    out_dir: Path | str | None = None,
    cache_dir: Path | str | None = None,
    prune: bool = True,
    request_timeout: float = DEFAULT_PULL_TIMEOUT,
    attempts: int = DEFAULT_ATTEMPTS,
    backoff: float = DEFAULT_BACKOFF,
    session: aiohttp.ClientSession | None = None,
) -> PullResult:
    """Introspect ``url``, cache the full JSON, and (unless ``prune=False``) write ``schema/``.

    The token comes from ``token``, else from the ``token_env`` variable; for Cloudflare's own
    endpoint ``token_env`` defaults to ``CLOUDFLARE_API_TOKEN``. Other URLs get no token unless
    asked, so a Cloudflare token is never sent to a sandbox or a third party by accident.
    """
    auth = _auth(url, token, token_env)
    raw, tries = await fetch_introspection(
        url,
        auth=auth,
        request_timeout=request_timeout,
        attempts=attempts,
        backoff=backoff,
        session=session,
    )
    digest = hashlib.sha256(raw).hexdigest()
    cache_file = _cache_path(url, cache_dir)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    temporary = cache_file.with_name(f".{cache_file.name}.tmp")
    temporary.write_bytes(raw)
    temporary.replace(cache_file)
    pruned = None
    if prune:
        result = prune_source(raw.decode("utf-8"), source=public_url(url), sha256=digest)
        pruned = write_pruned(result, out_dir)
    return PullResult(public_url(url), cache_file, digest, tries, pruned)


def _auth(url: str, token: str | Secret | None, token_env: str | None) -> Auth:
    if token is None:
        env_name = token_env or (ENV_TOKEN if url == DEFAULT_URL else None)
        token = os.environ.get(env_name) if env_name else None
        if not token and url == DEFAULT_URL:
            raise ConfigError(f"no API token: set {env_name} (Account Analytics: Read)")
    if not token:
        return NoAuth()
    return BearerToken(token if isinstance(token, Secret) else Secret(token))


def _wait(exc: Exception, attempt: int, backoff: float) -> float | None:
    delay: float = min(MAX_BACKOFF, backoff * 2.0 ** (attempt - 1))
    if isinstance(exc, RateLimited) and exc.retry_after is not None:
        # Cloudflare's budget refills after minutes: waiting longer than MAX_BACKOFF in a
        # command line tool is worse than saying so.
        wait = float(exc.retry_after)
        return wait if wait <= MAX_BACKOFF else None
    return delay


def _cache_path(url: str, cache_dir: Path | str | None) -> Path:
    if cache_dir is None:
        from turnmeter.schema_tools.project import load_project

        try:
            cache_dir = load_project().cache_dir
        except ConfigError:
            base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
            cache_dir = Path(base) / "turnmeter"
    parts = urlsplit(url)
    host = (parts.hostname or "local").replace(":", "_")
    if parts.port is not None:
        host = f"{host}_{parts.port}"
    return Path(cache_dir) / f"{host}.introspection.json"
