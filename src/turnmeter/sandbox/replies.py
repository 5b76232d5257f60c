"""Cloudflare's answer shape, in one place: every answer the sandbox sends is built here.

A failure is ``{"data": null, "errors": [{"message", "path", "extensions": {"timestamp",
"ray_id", "code"?}}]}`` with a ``cf-ray`` header, whether it comes from GraphQL, the control
API or aiohttp itself (an unknown path, a wrong method, a body too large, a broken request line).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import orjson
from aiohttp import web

from turnmeter.sandbox.json_groups import JsonText
from turnmeter.sandbox.scalars import TIME_FORMAT, serialize_date, serialize_time


@dataclass
class Reply:
    """An HTTP answer: status and JSON body (plus the ray id for the ``cf-ray`` header)."""

    status: int
    body: dict[str, Any]
    ray_id: str = field(default_factory=lambda: secrets.token_hex(8))


def error_reply(message: str, status: int, *, code: str | None = None, path: Any = None) -> Reply:
    """A Cloudflare-shaped failure with HTTP ``status``."""
    reply = Reply(status, {})
    timestamp = datetime.now(UTC).strftime(TIME_FORMAT)
    extensions: dict[str, Any] = {"timestamp": timestamp, "ray_id": reply.ray_id}
    if code is not None:
        extensions["code"] = code
    error = {"message": message, "path": path, "extensions": extensions}
    reply.body = {"data": None, "errors": [error]}
    return reply


def encode(body: Any) -> bytes:
    """A JSON body as bytes: orjson (a 10,000-group answer in milliseconds, not tens of them),
    or the standard library for what orjson refuses (an integer past 64 bits).

    Datetimes and dates are written in Cloudflare's forms (``2025-05-25T00:00:00Z``,
    ``2025-05-25``): the TURN groups pass the store's whole-second UTC datetimes through.
    """
    try:
        return orjson.dumps(body, default=_fragment, option=orjson.OPT_UTC_Z)
    except orjson.JSONEncodeError:
        return json.dumps(body, default=_scalar_text).encode()


def _fragment(value: Any) -> orjson.Fragment:
    # groups SQLite already wrote (json_groups): copied into the answer as they stand
    if isinstance(value, JsonText):
        return orjson.Fragment(value.text)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _scalar_text(value: Any) -> Any:
    if isinstance(value, JsonText):
        return json.loads(value.text)
    if isinstance(value, datetime):
        return serialize_time(value)
    if isinstance(value, date):
        return serialize_date(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_response(reply: Reply, headers: dict[str, str] | None = None) -> web.Response:
    """``reply`` as an aiohttp response (``application/json``, with ``cf-ray``)."""
    return web.Response(
        status=reply.status,
        body=encode(reply.body),
        content_type="application/json",
        headers={**(headers or {}), "cf-ray": f"{reply.ray_id}-SJC"},
    )


#: HTTP-level refusals' ``extensions.code`` (the sandbox's own; Cloudflare's edge sends HTML).
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 500: "internal"}


def http_error_reply(status: int, message: str, *, code: str | None = None) -> Reply:
    """A refusal outside GraphQL (route, method, size, protocol, control API), sent with its
    real status in either error mode; ``code`` defaults to one named after ``status``."""
    default = _HTTP_CODES.get(status, "bad_request" if status < 500 else "internal")
    return error_reply(message, status, code=code or default)
