"""Reading one response off the wire: no redirect followed, a bounded body, bounded inflation.

aiohttp would follow redirects (stripping only ``Authorization``, so ``X-Auth-Key`` went to
any host a server named) and would inflate a gzip body whole, however large. Here redirects
are refused with :class:`~turnmeter.errors.RedirectRefused`, and the body is read and
decompressed in chunks, stopping with :class:`~turnmeter.errors.ResponseTooLarge` as soon as
either the bytes read or the bytes inflated pass the limit.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Mapping

import aiohttp
from yarl import URL

from turnmeter.errors import RedirectRefused, ResponseTooLarge, TurnmeterError, UnreadableBody

#: Bytes taken from the socket per step (aiohttp's own read size).
READ_CHUNK = 64 * 1024
#: The encodings turnmeter asks for, and the only ones it will inflate.
ACCEPT_ENCODING = "gzip, deflate"
#: zlib's window bits for each accepted Content-Encoding (gzip: header and trailer).
_WBITS: Mapping[str, int] = {
    "gzip": 16 + zlib.MAX_WBITS,
    "x-gzip": 16 + zlib.MAX_WBITS,
    "deflate": zlib.MAX_WBITS,
}


def refuse_redirect(response: aiohttp.ClientResponse, operation: str | None) -> None:
    """Raise :class:`RedirectRefused` for any 3xx: credentials go to the endpoint only."""
    if not 300 <= response.status < 400:
        return
    location = shown_location(response.url, response.headers.get("Location"))
    target = location or "no Location"
    raise RedirectRefused(
        f"{operation or 'request'}: the server redirected (HTTP {response.status}) to {target}; "
        "turnmeter follows no redirects, so that credentials never reach another URL (set "
        "endpoint to the target if it is the right one)",
        status=response.status,
        location=location,
    )


def shown_location(base: URL, location: str | None) -> str | None:
    """The redirect target, resolved against ``base``, without query, fragment or user info
    (a signed URL's query string is a secret of its own)."""
    if not location:
        return None
    try:
        target = base.join(URL(location))
        return str(target.with_query(None).with_fragment(None).with_user(None))
    except (ValueError, TypeError):
        return "an unreadable Location"


async def read_body(response: aiohttp.ClientResponse, limit: int, operation: str | None) -> bytes:
    """The whole body, decompressed, or :class:`ResponseTooLarge` once it passes ``limit``."""
    where = operation or "response"
    declared = response.content_length
    if declared is not None and declared > limit:
        raise _too_large(where, response.status, limit, f"Content-Length is {declared}")
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity") and encoding not in _WBITS:
        raise UnreadableBody(
            f"{where}: unsupported Content-Encoding (only {ACCEPT_ENCODING} were accepted)",
            status=response.status,
        )
    if declared is not None and encoding in ("", "identity"):
        # The common case in one read: a declared length within the limit bounds what aiohttp
        # reads, and there is nothing to inflate.
        raw = await response.read()
        if len(raw) > limit:  # only if the server sent more than it declared
            raise _too_large(where, response.status, limit, "the body")
        return raw
    body = _Body(where, response.status, limit)
    inflater = None
    # A compressed body with a declared length: one read, then inflated in bounded steps.
    # Without a length the body is counted chunk by chunk as it arrives.
    chunks = _whole(response) if declared is not None else response.content.iter_chunked(READ_CHUNK)
    async for chunk in chunks:
        body.received(len(chunk))
        if encoding in _WBITS:
            inflater = inflater or zlib.decompressobj(_wbits(encoding, chunk))
            body.inflate(inflater, chunk)
        else:
            body.add(chunk)
    return body.joined()


async def _whole(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    yield await response.read()


def _wbits(encoding: str, first: bytes) -> int:
    # Some servers send "deflate" as raw deflate, without the zlib header (aiohttp tolerates
    # it the same way): a zlib stream starts with a byte whose low nibble is 8.
    if encoding == "deflate" and first and first[0] & 0x0F != 8:
        return -zlib.MAX_WBITS
    return _WBITS[encoding]


class _Body:
    """The parts of a body being read, with the counts that bound it."""

    __slots__ = ("limit", "parts", "read", "size", "status", "where")

    def __init__(self, where: str, status: int, limit: int) -> None:
        self.where, self.status, self.limit = where, status, limit
        self.parts: list[bytes] = []
        self.read = 0
        self.size = 0

    def received(self, count: int) -> None:
        self.read += count
        if self.read > self.limit:
            raise _too_large(self.where, self.status, self.limit, "the body as sent")

    def add(self, part: bytes) -> None:
        self.size += len(part)
        if self.size > self.limit:
            raise _too_large(self.where, self.status, self.limit, "the body")
        self.parts.append(part)

    def inflate(self, inflater: zlib._Decompress, data: bytes) -> None:
        # max_length keeps each step to what the limit still allows (+1 to notice passing
        # it): a chunk of a gzip bomb never inflates beyond the limit in memory.
        error: TurnmeterError | None = None
        while data and not inflater.eof:
            try:
                part = inflater.decompress(data, self.limit - self.size + 1)
            except zlib.error:
                error = UnreadableBody(
                    f"{self.where}: the body is not valid {ACCEPT_ENCODING} data",
                    status=self.status,
                )
                break
            self.size += len(part)
            if self.size > self.limit:
                error = _too_large(self.where, self.status, self.limit, "the decompressed body")
                break
            self.parts.append(part)
            data = inflater.unconsumed_tail
        if error is not None:
            # Raised outside the except clause: no zlib error in the chain.
            raise error

    def joined(self) -> bytes:
        return b"".join(self.parts)


def _too_large(where: str, status: int, limit: int, what: str) -> ResponseTooLarge:
    return ResponseTooLarge(
        f"{where}: {what} exceeds max_response_bytes={limit} (HTTP {status}); narrow the query "
        "(a shorter range, a smaller limit) or raise max_response_bytes",
        status=status,
        limit=limit,
    )
