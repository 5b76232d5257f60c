"""The HTTP transport: one aiohttp session, auth headers, timeouts, and the response boundary.

Everything below this module (aiohttp, orjson) raises its own exceptions; everything above it sees
only :mod:`turnmeter.errors`. The body is read and judged here, even on HTTP 200, because
Cloudflare reports rate limits, node limits and auth failures as ``errors`` with status 200.

Each operation goes through one pipeline::

    single-flight -> TTL cache -> [retry loop: concurrency cap -> rate budget -> POST -> judge]

* Identical concurrent requests (same query, operation, variables and decoder) share one request,
  run in the first caller's own task (see :mod:`turnmeter.transport.singleflight` for what a
  cancelled caller or ``close()`` does to it).
* Nothing on the way awaits when it need not: a free slot of the cap and a token of the
  in-process budget are taken synchronously, attempt 1 runs outside the retry loop, and an
  attempt is timed, logged and traced only when a tracer or DEBUG logging is on. A 1-row request
  costs the event loop as many iterations and tasks as plain aiohttp (``python -m bench.hops``).
* Each answer is judged once, inside the attempt: by the caller's ``decoder`` (the generated
  usage methods pass theirs, the DSL its own: ``row_decoding.RowDecoder``, which reads clean
  bodies itself through ``decode_body(bytes)`` and refuses a bad value with a ``ValueError``
  naming its path, raised here as :class:`MalformedResponse`). Without one, ``data`` is returned
  as parsed (the generated limits method validates it with its strict pydantic model).
* With ``cache_ttl`` set, answers are reused for that long; every answer's age is recorded
  (see :func:`turnmeter.transport.cache.with_age`).
* Each attempt, retries included, passes the concurrency cap and then pays its cost (the number
  of TURN dataset nodes) into the rate budget. The cap is taken first so that a grant is given
  right before sending: the budget then bounds what the server sees, and backoff sleeps hold
  neither a slot nor a grant.
* A rate limit from the server pauses the whole budget for its ``retry_after``, so other tasks
  stop too instead of feeding a retry storm.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar, overload

import aiohttp
import orjson

from turnmeter.decode.documents import document_facts
from turnmeter.errors import (
    MalformedResponse,
    RateLimited,
    RequestTimeout,
    TransportError,
    TurnmeterError,
)
from turnmeter.settings import ClientSettings
from turnmeter.transport.cache import TTLCache, note_arrival, note_freshness, requested_max_age
from turnmeter.transport.cap import ConcurrencyCap
from turnmeter.transport.observability import (
    attempt_span,
    log_attempt,
    observing,
    record_outcome,
)
from turnmeter.transport.ratelimit import CLIENT_BUDGET_CODE, RateLimiter, build_limiter
from turnmeter.transport.redact import Redactor
from turnmeter.transport.response import decode_response as decode_response  # introspect, tests
from turnmeter.transport.retry import RetryHook
from turnmeter.transport.retrying import retrying
from turnmeter.transport.singleflight import SingleFlight
from turnmeter.transport.wire import ACCEPT_ENCODING, read_body, refuse_redirect

#: Headers every request carries besides the credentials.
BASE_HEADERS: Mapping[str, str] = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    # Only what turnmeter.transport.wire inflates itself, in bounded steps.
    "Accept-Encoding": ACCEPT_ENCODING,
}

T = TypeVar("T")
#: Turns a response's ``data`` (and the operation name, for messages) into the caller's value;
#: raises :class:`~turnmeter.errors.MalformedResponse` for anything the schema does not allow.
Decoder = Callable[[dict[str, Any], str | None], T]
Answer = tuple[Any, float]


class AiohttpTransport:
    """Posts GraphQL operations to one endpoint and returns their ``data`` objects.

    Pass ``session`` to share a connection pool (it is then not closed here); otherwise the
    transport opens and owns one. Pass ``limiter`` to share one rate budget between several
    clients (otherwise one is built from ``settings.rate_budget``), ``on_retry`` to observe
    retries, ``rng`` to make backoff jitter reproducible.
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        session: aiohttp.ClientSession | None = None,
        limiter: RateLimiter | None = None,
        on_retry: RetryHook | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        self._session = session
        self._owns_session = session is None
        self._timeout = aiohttp.ClientTimeout(
            total=settings.timeout, sock_connect=settings.connect_timeout
        )
        # The same for every request, so built once (not per request); _WireHeaders keeps the
        # credentials out of reprs and logs, and nothing else reads them.
        self._headers = _WireHeaders({**BASE_HEADERS, **settings.auth.headers()})
        # Hides the credentials wherever a server echoes them into what we show.
        self.redactor = Redactor(settings.auth.secrets())
        self.limiter = limiter if limiter is not None else build_limiter(settings.rate_budget)
        self._owns_limiter = limiter is None
        self._cap = ConcurrencyCap(settings.max_concurrency)
        self._cache = TTLCache(settings.cache_ttl) if settings.cache_ttl else None
        self._flights: SingleFlight[Answer] = SingleFlight()
        self._on_retry = on_retry
        self._rng = rng or random.Random()

    def __repr__(self) -> str:
        return f"AiohttpTransport(endpoint={self._settings.endpoint!r})"

    @overload
    async def execute(
        self, query: str, operation_name: str | None, variables: dict[str, Any]
    ) -> dict[str, Any]: ...

    @overload
    async def execute(
        self,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any],
        *,
        decoder: Decoder[T],
    ) -> T: ...

    async def execute(
        self,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any],
        *,
        decoder: Decoder[Any] | None = None,
    ) -> Any:
        """Send one operation; return ``data`` (or ``decoder(data, operation_name)``).

        Without ``decoder`` the leaves of ``data`` are type-checked against the query's plan;
        with one, the decoder is the check. Either way a malformed answer raises
        :class:`MalformedResponse` from inside the attempt. Answers may be shared (cache,
        identical concurrent requests): treat them as read-only.
        """
        payload = {"query": query, "operationName": operation_name, "variables": variables}
        # Sorted keys: the body is also the single-flight and cache key.
        body = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
        key: Hashable = body if decoder is None else (body, decoder)
        if self._cache is not None:
            hit = self._cache.get(key, requested_max_age())
            if hit is not None:
                note_freshness(hit[1], True)
                return hit[0]
        try:
            value, arrived = await self._flights.run(
                key, lambda: self._fetch(key, body, query, operation_name, decoder)
            )
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling() == 0:
                # The shared request was cancelled by close(), not this caller.
                raise TransportError(
                    f"{operation_name or 'request'} was cancelled: the client closed"
                ) from None
            raise
        note_arrival(arrived)
        return value

    async def _fetch(
        self,
        key: Hashable,
        body: bytes,
        query: str,
        operation: str | None,
        decoder: Decoder[Any] | None,
    ) -> Answer:
        limiter = self.limiter
        # The cost is only the rate budget's business.
        cost = 1 if limiter is None else document_facts(query, operation).cost
        started = time.monotonic()
        failure: TurnmeterError | None = None
        try:
            # Attempt 1 outside the retry loop: most requests are answered at once.
            value = await self._attempt(body, operation, cost, decoder, 1, started)
        except TurnmeterError as exc:
            failure = exc
        if failure is not None:  # retried outside the except clause: no chained context
            value = await retrying(
                lambda attempt: self._attempt(body, operation, cost, decoder, attempt, started),
                policy=self._settings.retry,
                operation=operation,
                started=started,
                rng=self._rng,
                on_retry=self._on_retry,
                retryable=self._retryable,
                first_failure=failure,
            )
        arrived = time.monotonic()
        if limiter is not None and limiter.pause_seen:
            await limiter.server_answered()  # a real answer ends a server-caused pause
        if self._cache is not None:
            self._cache.put(key, value, arrived)
        return value, arrived

    async def _attempt(
        self,
        body: bytes,
        operation: str | None,
        cost: int,
        decoder: Decoder[Any] | None,
        attempt: int,
        started: float,
    ) -> Any:
        cap = self._cap
        if not cap.take_now():
            await cap.take()
        try:
            grant = None
            limiter = self.limiter
            # The cap is taken first, so that the grant is given right before sending.
            if limiter is not None and not limiter.acquire_now(cost):
                left = self._settings.retry.total_time - (time.monotonic() - started)
                grant = await limiter.acquire(cost, max_wait=max(0.0, left))
            try:
                if observing():
                    return await self._observed(body, operation, decoder, attempt)
                status, headers, raw = await self.post(body, operation)
                return self._judge(status, headers, raw, operation, decoder)
            except TurnmeterError as exc:
                # Decoders quote values from the body too: one last pass over the message.
                self.redactor.exception(exc)
                raise
            finally:
                if grant is not None and limiter is not None:
                    limiter.sent(grant)  # a shared window counts it from its answer
        finally:
            cap.release()

    async def _observed(
        self, body: bytes, operation: str | None, decoder: Decoder[Any] | None, attempt: int
    ) -> Any:
        """One attempt inside its span, logged: only when a tracer or DEBUG logging is on."""
        with attempt_span(operation, attempt) as span:
            sent = time.monotonic()
            status: int | None = None
            outcome = "ok"
            try:
                status, headers, raw = await self.post(body, operation)
                return self._judge(status, headers, raw, operation, decoder)
            except TurnmeterError as exc:
                outcome = type(exc).__name__
                raise
            except asyncio.CancelledError:
                outcome = "cancelled"
                raise
            finally:
                record_outcome(span, outcome, status)
                log_attempt(operation, attempt, time.monotonic() - sent, outcome, status)

    def _judge(
        self,
        status: int,
        headers: Mapping[str, str],
        raw: bytes,
        operation: str | None,
        decoder: Decoder[Any] | None,
    ) -> Any:
        """Parse, classify and check one response body: exactly one strict walk of ``data``."""
        if decoder is not None and status < 400:
            # A decoder that reads bytes itself (row_decoding's msgspec path) answers
            # clean bodies without orjson's dicts; for anything else it returns None and the body
            # takes the classifying path below.
            from_body = getattr(decoder, "decode_body", None)
            if from_body is not None:
                rows = from_body(raw)
                if rows is not None:
                    return rows
        # Pausing the GC across parsing too was measured (bench/RESULTS.md): no gain over the
        # decoder's own pause while it builds rows, so the parse runs with the GC as it is.
        data = decode_response(
            status,
            headers,
            raw,
            operation=operation,
            max_wait=self._settings.max_server_wait,
            redactor=self.redactor,
        )
        if decoder is None:
            return data
        try:
            return decoder(data, operation)
        except ValueError as exc:  # the decoder's refusal, naming the bad value's path
            raise MalformedResponse(str(exc)) from None

    def _retryable(self, exc: TurnmeterError) -> bool:
        """False for turnmeter's own budget refusal; pauses every task on Cloudflare's 429."""
        if _refused_here(exc):
            return False
        # Cloudflare's budget is per user: when it is spent, every task should stop, not retry.
        if isinstance(exc, RateLimited) and self.limiter is not None:
            self.limiter.pause(exc.retry_after or 0.0)
        return True

    def in_flight(self) -> int:
        """Distinct requests in flight (identical concurrent requests count once)."""
        return len(self._flights)

    async def post(
        self, body: bytes, operation_name: str | None = None, *, url: str | None = None
    ) -> tuple[int, Mapping[str, str], bytes]:
        """POST a prepared JSON body; return status, headers and the whole response body.

        ``url`` defaults to ``settings.endpoint`` (the REST path of
        :mod:`turnmeter.transport.rest` names a URL under it). Redirects are refused
        (:class:`~turnmeter.errors.RedirectRefused`), and the body is bounded by
        ``settings.max_response_bytes`` as sent and once decompressed.
        """
        session = self._open_session()
        target = self._settings.endpoint if url is None else url
        error: TurnmeterError
        try:
            async with session.post(
                target,
                data=body,
                headers=self._headers,
                timeout=self._timeout,
                allow_redirects=False,
                auto_decompress=False,
            ) as response:
                refuse_redirect(response, operation_name)
                raw = await read_body(response, self._settings.max_response_bytes, operation_name)
                # The headers stay readable after release (and look up case-insensitively).
                return response.status, response.headers, raw
        except TimeoutError:
            error = RequestTimeout(
                f"{operation_name or 'request'} timed out after {self._settings.timeout:g} s"
            )
        except aiohttp.ClientError as exc:
            # aiohttp's messages name the URL and the failure, never the request headers, but
            # may quote what a hostile server sent (a status line echoing the token).
            error = TransportError(
                f"{operation_name or 'request'} to {target} failed: {type(exc).__name__}: {exc}"
            )
        except TurnmeterError as exc:
            raise self.redactor.exception(exc) from None
        # Raised outside the except clauses: aiohttp's exception (its request_info holds the
        # request headers, credentials included) is then not even the hidden __context__.
        raise self.redactor.exception(error)

    async def close(self, *, grace: float | None = None) -> None:
        """Wait up to ``grace`` seconds (default ``settings.close_timeout``) for requests in
        flight, cancel what is left, then close the session if this transport opened it."""
        await self._flights.close(self._settings.close_timeout if grace is None else grace)
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None
        if self.limiter is not None and self._owns_limiter:
            await self.limiter.aclose()  # a Redis budget's connections (others: nothing)

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            if not self._owns_session:
                raise TransportError("the injected aiohttp session is closed")
            self._session = aiohttp.ClientSession()
        return self._session


class _WireHeaders(dict[str, str]):
    """Request headers, credentials included: a plain dict for aiohttp, redacted when shown."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{len(self)} request headers, values hidden>"

    __str__ = __repr__


def _refused_here(exc: BaseException) -> bool:
    """True for turnmeter's own budget refusal (nothing was sent; not to be retried)."""
    return (
        isinstance(exc, RateLimited)
        and exc.status is None
        and any(error.code == CLIENT_BUDGET_CODE for error in exc.errors)
    )
