"""JSON over REST through the same transport: Cloudflare's TURN key API is not GraphQL.

:class:`RestTransport` sends one JSON ``POST`` to a path under its settings' ``endpoint``, with
everything the GraphQL path has below the operation: the aiohttp session, the settings' auth
headers (hidden from reprs), timeouts, no redirects, bounded bodies
(:meth:`AiohttpTransport.post <turnmeter.transport.http.AiohttpTransport.post>`), redaction,
:class:`~turnmeter.transport.retry.RetryPolicy` and the one failure classifier
(:func:`~turnmeter.transport.classify.classify_failure`). What differs is only the body: REST
failures come as Cloudflare's v4 envelope (``{"success": false, "errors": [{"code": 10000,
"message": "Authentication error"}]}``), and a success is any 2xx with a JSON object or no body.

No rate budget and no single-flight: Cloudflare publishes no query budget for this API ("start
at 500 credentials per second"), and two identical mint requests must mint two credentials.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import orjson

from turnmeter.errors import GraphQLErrorDetail, MalformedResponse, TurnmeterError, UnreadableBody
from turnmeter.settings import ClientSettings
from turnmeter.transport.classify import classify_failure, parse_errors
from turnmeter.transport.http import AiohttpTransport
from turnmeter.transport.observability import log_attempt
from turnmeter.transport.ratelimit import RateBudget
from turnmeter.transport.redact import Redactor
from turnmeter.transport.response import BODY_EXCERPT
from turnmeter.transport.retry import RetryHook
from turnmeter.transport.retrying import retrying

#: No client-side query budget for REST (see the module docstring).
NO_RATE_BUDGET = RateBudget(limit=None)


@dataclass(frozen=True, slots=True)
class RestAnswer:
    """A successful answer: its status and its JSON object (None for an empty body, a 204)."""

    status: int
    body: dict[str, Any] | None


class RestTransport:
    """Posts JSON to paths under ``settings.endpoint`` and returns the answers' objects.

    ``settings.rate_budget`` is ignored (there is none to keep); ``session`` is shared and not
    closed here, as with :class:`~turnmeter.transport.http.AiohttpTransport`.
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        session: aiohttp.ClientSession | None = None,
        on_retry: RetryHook | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = replace(settings, rate_budget=NO_RATE_BUDGET, cache_ttl=None)
        self._http = AiohttpTransport(self.settings, session=session, rng=rng)
        self._on_retry = on_retry
        self._rng = rng or random.Random()

    def __repr__(self) -> str:
        return f"RestTransport(endpoint={self.settings.endpoint!r})"

    @property
    def redactor(self) -> Redactor:
        """Hides the settings' credentials wherever a server echoes them."""
        return self._http.redactor

    async def post(
        self, path: str, payload: Mapping[str, Any] | None, *, operation: str
    ) -> RestAnswer:
        """POST ``payload`` (None: no body) to ``endpoint + path``, retrying per the policy.

        Failures raise :mod:`turnmeter.errors` types, classified as on the GraphQL path
        (401/403 :class:`AuthError`, 429 :class:`RateLimited`, 503 :class:`Overloaded`, ...).
        """
        url = self.settings.endpoint.rstrip("/") + path
        body = b"" if payload is None else orjson.dumps(payload)
        return await retrying(
            lambda attempt: self._attempt(url, body, operation, attempt),
            policy=self.settings.retry,
            operation=operation,
            started=time.monotonic(),
            rng=self._rng,
            on_retry=self._on_retry,
        )

    async def _attempt(self, url: str, body: bytes, operation: str, attempt: int) -> RestAnswer:
        sent = time.monotonic()
        status: int | None = None
        outcome = "ok"
        try:
            status, headers, raw = await self._http.post(body, operation, url=url)
            return RestAnswer(status, self._judge(status, headers, raw, operation))
        except TurnmeterError as exc:
            outcome = type(exc).__name__
            self.redactor.exception(exc)  # what a server echoed into the message, hidden
            raise
        finally:
            log_attempt(operation, attempt, time.monotonic() - sent, outcome, status)

    def _judge(
        self, status: int, headers: Mapping[str, str], raw: bytes, operation: str
    ) -> dict[str, Any] | None:
        payload = _parse(raw)
        if 200 <= status < 300:
            if not raw.strip():
                return None
            if isinstance(payload, dict):
                return payload
            if payload is _NOT_JSON:
                excerpt = self.redactor.excerpt(raw, BODY_EXCERPT)
                raise UnreadableBody(
                    f"{operation}: body is not JSON (HTTP {status}, {len(raw)} bytes, "
                    f"starts {excerpt!r})",
                    status=status,
                )
            raise MalformedResponse(
                f"{operation}: body is JSON {type(payload).__name__}, not an object",
                status=status,
            )
        errors = _envelope_errors(payload, self.redactor)
        raise classify_failure(
            status,
            errors,
            headers,
            operation=operation,
            max_wait=self.settings.max_server_wait,
        )

    async def close(self, *, grace: float | None = None) -> None:
        """Close the session if this transport opened it."""
        await self._http.close(grace=grace)


def _parse(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _NOT_JSON


def _envelope_errors(payload: Any, redactor: Redactor) -> list[GraphQLErrorDetail]:
    """The v4 envelope's ``errors`` as details; Cloudflare's numeric ``code`` kept as a string."""
    if not isinstance(payload, dict) or not isinstance(payload.get("errors"), list):
        return []
    entries = [
        {
            "message": entry.get("message"),
            "extensions": {"code": str(entry["code"])} if "code" in entry else {},
        }
        if isinstance(entry, dict)
        else entry
        for entry in payload["errors"]
    ]
    return parse_errors(entries, redactor)


#: Stands for "the body did not parse" (JSON's null is a valid, if wrong, body).
_NOT_JSON = object()
