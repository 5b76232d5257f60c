"""The HTTP transport: one aiohttp session, auth headers, timeouts, and the response boundary.

Everything below this module (aiohttp, orjson) raises its own exceptions; everything above it sees
only :mod:`turnmeter.errors`. The body is read and judged here, even on HTTP 200, because
Cloudflare reports rate limits, node limits and auth failures as ``errors`` with status 200.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson

from turnmeter.classify import classify_failure, parse_errors
from turnmeter.errors import (
    MalformedResponse,
    RequestTimeout,
    TransportError,
    UnreadableBody,
)
from turnmeter.settings import ClientSettings

logger = logging.getLogger("turnmeter.transport")

#: How much of an unreadable body an error message may quote.
BODY_EXCERPT = 120


class AiohttpTransport:
    """Posts GraphQL operations to one endpoint and returns their ``data`` objects.

    Pass ``session`` to share a connection pool (it is then not closed here); otherwise the
    transport opens and owns one.
    """

    def __init__(
        self, settings: ClientSettings, *, session: aiohttp.ClientSession | None = None
    ) -> None:
        self._settings = settings
        self._session = session
        self._owns_session = session is None
        self._timeout = aiohttp.ClientTimeout(
            total=settings.timeout, sock_connect=settings.connect_timeout
        )

    def __repr__(self) -> str:
        return f"AiohttpTransport(endpoint={self._settings.endpoint!r})"

    async def execute(
        self, query: str, operation_name: str | None, variables: dict[str, Any]
    ) -> dict[str, Any]:
        """Send one operation; return ``data`` or raise a :class:`TurnmeterError`."""
        payload = {"query": query, "operationName": operation_name, "variables": variables}
        started = time.perf_counter()
        status, headers, body = await self.post(orjson.dumps(payload), operation_name)
        data = decode_response(status, headers, body, operation=operation_name)
        logger.debug(
            "%s answered %s in %.1f ms (%d bytes)",
            operation_name,
            status,
            (time.perf_counter() - started) * 1000,
            len(body),
        )
        return data

    async def post(
        self, body: bytes, operation_name: str | None = None
    ) -> tuple[int, Mapping[str, str], bytes]:
        """POST a prepared JSON body; return status, headers and the whole response body."""
        session = self._open_session()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        headers.update(self._settings.auth.headers())
        try:
            async with session.post(
                self._settings.endpoint, data=body, headers=headers, timeout=self._timeout
            ) as response:
                return response.status, dict(response.headers), await response.read()
        except TimeoutError:
            raise RequestTimeout(
                f"{operation_name or 'request'} timed out after {self._settings.timeout:g} s"
            ) from None
        except aiohttp.ClientError as exc:
            # aiohttp's messages name the URL and the failure, never the request headers.
            raise TransportError(
                f"{operation_name or 'request'} to {self._settings.endpoint} failed: "
                f"{type(exc).__name__}: {exc}"
            ) from None

    async def close(self) -> None:
        """Close the session if this transport opened it."""
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            if not self._owns_session:
                raise TransportError("the injected aiohttp session is closed")
            self._session = aiohttp.ClientSession()
        return self._session


def decode_response(
    status: int, headers: Mapping[str, str], body: bytes, *, operation: str | None = None
) -> dict[str, Any]:
    """The ``data`` object of a GraphQL response, or the exception its status and body call for."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        if status >= 400:
            raise classify_failure(status, [], headers, operation=operation) from None
        excerpt = body[:BODY_EXCERPT].decode("utf-8", "replace")
        raise UnreadableBody(
            f"{operation or 'response'}: body is not JSON (HTTP {status}, {len(body)} bytes, "
            f"starts {excerpt!r})",
            status=status,
        ) from None
    if not isinstance(payload, dict):
        raise MalformedResponse(
            f"{operation or 'response'}: body is JSON {type(payload).__name__}, not an object",
            status=status,
        )
    raw_errors = payload.get("errors")
    if raw_errors not in (None, []):
        details = parse_errors(raw_errors)
        if not details:
            raise MalformedResponse(
                f"{operation or 'response'}: 'errors' is not a list", status=status
            )
        raise classify_failure(status, details, headers, operation=operation)
    if status >= 400:
        raise classify_failure(status, [], headers, operation=operation)
    data = payload.get("data")
    if not isinstance(data, dict):
        raise MalformedResponse(
            f"{operation or 'response'}: no 'data' object in the response", status=status
        )
    return data
