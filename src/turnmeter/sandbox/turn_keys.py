"""The sandbox's TURN key API: mint and revoke credentials, tied to the sandbox's own traffic.

Served under ``/v1/turn/keys/{key_id}/credentials/`` (``rtc.live.cloudflare.com``'s paths):
``generate-ice-servers`` (201, a list of ``RTCIceServer``), ``generate`` (201, the older single
object) and ``{username}/revoke`` (204). The bearer is the TURN key's own token
(``SandboxConfig.turn_key_token``, the same for every key id here), never the analytics token.
Failures use Cloudflare's v4 REST envelope (``{"success": false, "errors": [{"code",
"message"}], "messages": [], "result": null}``).

Issued credentials are remembered, so traffic can be relayed for them:
:meth:`TurnKeys.usage_row` turns "this username moved N bytes" into a usage row with the key id
and custom identifier it was issued with (``Sandbox.relay`` adds it to the store), and a revoked
or expired credential relays nothing, as Cloudflare's relays stop billing it.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from turnmeter.sandbox.model import UsageRow

#: Cloudflare's FAQ: at most 48 hours.
MAX_TTL = 48 * 3600
PATH_PREFIX = "/v1/turn/keys/{key_id}/credentials"
#: What Cloudflare's answers carry (the sandbox hands out the real hostnames: nothing listens).
STUN_URLS = ("stun:stun.cloudflare.com:3478", "stun:stun.cloudflare.com:53")
TURN_URLS = (
    "turn:turn.cloudflare.com:3478?transport=udp",
    "turn:turn.cloudflare.com:53?transport=udp",
    "turn:turn.cloudflare.com:3478?transport=tcp",
    "turn:turn.cloudflare.com:80?transport=tcp",
    "turns:turn.cloudflare.com:5349?transport=tcp",
    "turns:turn.cloudflare.com:443?transport=tcp",
)
#: Cloudflare's v4 codes for the refusals the sandbox sends.
AUTH_CODE, BAD_REQUEST_CODE, NOT_FOUND_CODE = 10000, 10001, 10404


class RelayRefused(ValueError):
    """Traffic for a username the sandbox never issued, revoked, or that has expired."""


@dataclass
class Issued:
    """One credential the sandbox minted."""

    key_id: str
    username: str
    custom_identifier: str
    expires: datetime
    revoked: bool = False


class TurnKeys:
    """The credentials issued so far (thread-safe: tests relay from other threads)."""

    def __init__(self, token: str, clock: Callable[[], datetime]) -> None:
        self._token = token
        self._clock = clock
        self._issued: dict[str, Issued] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<TurnKeys: {len(self._issued)} issued>"

    def issued(self) -> list[Issued]:
        """Every credential minted, revoked ones included."""
        with self._lock:
            return list(self._issued.values())

    def authorized(self, authorization: str | None) -> bool:
        """Whether ``Authorization`` carries the TURN key token."""
        scheme, _, token = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self._token.encode()
        )

    def mint(self, key_id: str, ttl: int, custom_identifier: str) -> tuple[str, str]:
        """A new username and credential for ``key_id``, valid ``ttl`` seconds."""
        username, credential = secrets.token_hex(48), secrets.token_hex(48)
        expires = self._clock() + timedelta(seconds=ttl)
        with self._lock:
            self._issued[username] = Issued(key_id, username, custom_identifier, expires)
        return username, credential

    def revoke(self, key_id: str, username: str) -> bool:
        """Revoke ``username``; False when ``key_id`` never issued it."""
        with self._lock:
            issued = self._issued.get(username)
            if issued is None or issued.key_id != key_id:
                return False
            issued.revoked = True
            return True

    def usage_row(
        self,
        username: str,
        minute: datetime,
        *,
        egress_bytes: int,
        ingress_bytes: int = 0,
        concurrent_connections: int = 1,
        datacenter: tuple[str, str, str, str] = ("Frankfurt", "FRA", "DE", "WEUR"),
    ) -> UsageRow:
        """One minute of relayed traffic for an issued, live credential.

        ``datacenter`` is (city, code, country, region). Raises :class:`RelayRefused` for a
        username never issued, revoked, or expired by ``minute``.
        """
        with self._lock:
            issued = self._issued.get(username)
        if issued is None:
            raise RelayRefused(f"the sandbox never issued username {username[:16]}...")
        if issued.revoked:
            raise RelayRefused(f"username {username[:16]}... is revoked")
        if minute >= issued.expires:
            raise RelayRefused(f"username {username[:16]}... expired at {issued.expires}")
        city, code, country, region = datacenter
        return UsageRow(
            minute=minute,
            key_id=issued.key_id,
            username=username,
            custom_identifier=issued.custom_identifier,
            datacenter_city=city,
            datacenter_code=code,
            datacenter_country=country,
            datacenter_region=region,
            egress_bytes=egress_bytes,
            ingress_bytes=ingress_bytes,
            concurrent_connections=concurrent_connections,
        )


def envelope_error(status: int, code: int, message: str) -> web.Response:
    """Cloudflare's v4 REST failure."""
    body = {"success": False, "errors": [{"code": code, "message": message}], "messages": []}
    body["result"] = None
    return web.Response(status=status, body=json.dumps(body), content_type="application/json")


async def _request(keys: TurnKeys, request: web.Request) -> tuple[int, str] | web.Response:
    """The checked ``(ttl, customIdentifier)`` of a mint request, or the refusal."""
    if not keys.authorized(request.headers.get("Authorization")):
        return envelope_error(401, AUTH_CODE, "Authentication error")
    try:
        body = json.loads(await request.read() or b"{}")
    except (ValueError, UnicodeDecodeError):
        return envelope_error(400, BAD_REQUEST_CODE, "the request body is not JSON")
    if not isinstance(body, dict):
        return envelope_error(400, BAD_REQUEST_CODE, "the request body is not a JSON object")
    ttl, customer = body.get("ttl"), body.get("customIdentifier", "")
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 1 <= ttl <= MAX_TTL:
        return envelope_error(
            400, BAD_REQUEST_CODE, f"ttl must be an integer from 1 to {MAX_TTL} seconds"
        )
    if not isinstance(customer, str):
        return envelope_error(400, BAD_REQUEST_CODE, "customIdentifier must be a string")
    return ttl, customer


async def generate_ice_servers(keys: TurnKeys, request: web.Request) -> web.Response:
    """``POST .../credentials/generate-ice-servers``: 201 with a list of ICE servers."""
    checked = await _request(keys, request)
    if isinstance(checked, web.Response):
        return checked
    username, credential = keys.mint(request.match_info["key_id"], *checked)
    servers: list[dict[str, Any]] = [
        {"urls": list(STUN_URLS)},
        {"urls": list(TURN_URLS), "username": username, "credential": credential},
    ]
    return web.json_response({"iceServers": servers}, status=201)


async def generate(keys: TurnKeys, request: web.Request) -> web.Response:
    """``POST .../credentials/generate``: 201 with the older single-object answer."""
    checked = await _request(keys, request)
    if isinstance(checked, web.Response):
        return checked
    username, credential = keys.mint(request.match_info["key_id"], *checked)
    server = {"urls": [*STUN_URLS, *TURN_URLS], "username": username, "credential": credential}
    return web.json_response({"iceServers": server}, status=201)


async def revoke(keys: TurnKeys, request: web.Request) -> web.Response:
    """``POST .../credentials/{username}/revoke``: 204, or 404 for a username never issued."""
    if not keys.authorized(request.headers.get("Authorization")):
        return envelope_error(401, AUTH_CODE, "Authentication error")
    await request.read()
    if not keys.revoke(request.match_info["key_id"], request.match_info["username"]):
        return envelope_error(404, NOT_FOUND_CODE, "no such credential for this TURN key")
    return web.Response(status=204)


def relay_request(keys: TurnKeys, body: Any, now: datetime) -> UsageRow:
    """The row ``POST /__sandbox/turn/relay`` asks for: ``{"username", "egress_bytes",
    "ingress_bytes"?, "minute"? (ISO 8601, default the sandbox clock's)}``.

    Raises ValueError (:class:`RelayRefused` included) with the reason to answer 400 with.
    """
    if not isinstance(body, dict) or not isinstance(body.get("username"), str):
        raise ValueError('the body must be a JSON object with a "username"')
    counts = [body.get("egress_bytes"), body.get("ingress_bytes", 0)]
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts):
        raise ValueError('"egress_bytes" and "ingress_bytes" must be whole numbers >= 0')
    minute = body.get("minute")
    when = now if minute is None else datetime.fromisoformat(str(minute))
    if when.tzinfo is None:
        raise ValueError('"minute" needs a time zone (e.g. a trailing Z)')
    return keys.usage_row(
        body["username"],
        when.replace(second=0, microsecond=0),
        egress_bytes=counts[0],
        ingress_bytes=counts[1],
    )


#: (method, path, handler) for the application's router.
ROUTES = (
    ("POST", f"{PATH_PREFIX}/generate-ice-servers", generate_ice_servers),
    ("POST", f"{PATH_PREFIX}/generate", generate),
    ("POST", PATH_PREFIX + "/{username}/revoke", revoke),
)
