"""ICE servers as typed values: what Cloudflare's TURN key API answers, checked on the way in.

An :class:`IceServer` is one ``RTCIceServer`` (``urls``, and for TURN a ``username`` and a
``credential``); :class:`IceServers` is one issue's answer, ready for ``RTCPeerConnection``
through :meth:`IceServers.to_json`. The credential is a secret of the end user's session: it
never shows in a repr (hand it on with ``to_json()``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from turnmeter.errors import MalformedResponse

if TYPE_CHECKING:
    from turnmeter.credentials.policy import IssueDecision

#: Cloudflare's STUN servers: free, need no credential, what a STUN-only answer carries.
CLOUDFLARE_STUN_URLS = ("stun:stun.cloudflare.com:3478", "stun:stun.cloudflare.com:53")


class IceTransport(enum.Enum):
    """How an ICE URL reaches the server."""

    STUN = "stun"
    TURN_UDP = "turn_udp"
    TURN_TCP = "turn_tcp"
    TURNS = "turns"  # TURN over TLS


def transport_of(url: str) -> IceTransport:
    """The transport an ICE URL names (``turn:h:3478?transport=tcp`` is TURN over TCP)."""
    scheme, _, rest = url.partition(":")
    scheme = scheme.lower()
    if scheme in ("stun", "stuns"):
        return IceTransport.STUN
    if scheme == "turns":
        return IceTransport.TURNS
    if scheme == "turn":
        return IceTransport.TURN_TCP if "transport=tcp" in rest.lower() else IceTransport.TURN_UDP
    raise ValueError(f"not an ICE URL (stun:, turn: or turns:): {url[:80]!r}")


@dataclass(frozen=True, slots=True)
class IceServer:
    """One ``RTCIceServer``: its URLs and, for TURN, the credential pair."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = field(default=None, repr=False)

    @property
    def transports(self) -> frozenset[IceTransport]:
        """The transports this server's URLs offer."""
        return frozenset(transport_of(url) for url in self.urls)

    def urls_for(self, transport: IceTransport) -> tuple[str, ...]:
        """The URLs that use ``transport``."""
        return tuple(url for url in self.urls if transport_of(url) is transport)

    def to_json(self) -> dict[str, Any]:
        """The ``RTCIceServer`` dictionary (credential included: for the end user only)."""
        entry: dict[str, Any] = {"urls": list(self.urls)}
        if self.username is not None:
            entry["username"] = self.username
        if self.credential is not None:
            entry["credential"] = self.credential
        return entry


@dataclass(frozen=True, slots=True)
class IceServers:
    """What one :meth:`~turnmeter.credentials.TurnCredentials.issue` answered.

    ``stun_only`` is True when the policy withheld TURN (then ``username`` is None);
    ``decision`` is the policy's answer behind it (None without a guard).
    """

    servers: tuple[IceServer, ...]
    custom_identifier: str | None
    ttl: int
    stun_only: bool = False
    decision: IssueDecision | None = None

    @property
    def username(self) -> str | None:
        """The TURN username issued (what usage is grouped by, and what revoke takes)."""
        return next((s.username for s in self.servers if s.username is not None), None)

    @property
    def transports(self) -> frozenset[IceTransport]:
        """Every transport offered, across the servers."""
        return frozenset().union(*(server.transports for server in self.servers))

    def urls_for(self, transport: IceTransport) -> tuple[str, ...]:
        """Every URL that uses ``transport``, across the servers."""
        return tuple(url for server in self.servers for url in server.urls_for(transport))

    def to_json(self) -> dict[str, Any]:
        """``{"iceServers": [...]}``, as ``new RTCPeerConnection(...)`` takes it."""
        return {"iceServers": [server.to_json() for server in self.servers]}


def stun_only(urls: tuple[str, ...] = CLOUDFLARE_STUN_URLS) -> tuple[IceServer, ...]:
    """The servers of a STUN-only answer: direct and NAT-punched paths, no relay, no bill."""
    return (IceServer(urls=urls),)


def parse_ice_servers(body: Mapping[str, Any] | None, operation: str) -> tuple[IceServer, ...]:
    """``iceServers`` of a ``generate-ice-servers`` answer (a list of ``RTCIceServer``).

    The older ``generate`` answer (one object, not a list) is read too. Anything else, or a
    TURN URL without a username and credential, raises :class:`MalformedResponse`.
    """
    raw = body.get("iceServers") if body is not None else None
    entries = [raw] if isinstance(raw, Mapping) else raw
    if not isinstance(entries, list) or not entries:
        raise MalformedResponse(f"{operation}: no 'iceServers' list in the answer")
    return tuple(_server(entry, operation) for entry in entries)


def _server(entry: Any, operation: str) -> IceServer:
    if not isinstance(entry, Mapping):
        raise MalformedResponse(f"{operation}: an ICE server is not an object")
    urls = entry.get("urls")
    urls = [urls] if isinstance(urls, str) else urls
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
        raise MalformedResponse(f"{operation}: an ICE server's 'urls' is not a list of strings")
    try:
        kinds = {transport_of(url) for url in urls}
    except ValueError as exc:
        raise MalformedResponse(f"{operation}: {exc}") from None
    username, credential = entry.get("username"), entry.get("credential")
    for name, value in (("username", username), ("credential", credential)):
        if value is not None and (not isinstance(value, str) or not value):
            raise MalformedResponse(f"{operation}: an ICE server's {name} is not a string")
    if kinds - {IceTransport.STUN} and (username is None or credential is None):
        raise MalformedResponse(f"{operation}: a TURN server came without username and credential")
    return IceServer(urls=tuple(urls), username=username, credential=credential)
