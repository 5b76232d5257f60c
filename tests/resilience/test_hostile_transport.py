"""The transport against hostile servers of the tests' own, on loopback.

Each server here misbehaves on purpose: absurd ``Retry-After`` values, redirects to another
origin, bodies and gzip bombs larger than any answer, malformed HTTP, and bodies that echo the
credentials back. The client must stay bounded, refuse typed, and never show a secret.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import math
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson
import pytest
from aiohttp import web

from tests.conftest import CANARY_TOKEN
from tests.loopback import serving
from tests.usage_data import NOW
from turnmeter import (
    AuthError,
    ConfigError,
    GlobalApiKey,
    GraphQLErrors,
    Overloaded,
    RateLimited,
    RedirectRefused,
    ResponseTooLarge,
    Secret,
    TransportError,
    TurnmeterError,
    TurnUsage,
    UnreadableBody,
)
from turnmeter.settings import ClientSettings
from turnmeter.transport.ratelimit import NO_RATE_BUDGET
from turnmeter.transport.retry import NO_RETRY, RetryPolicy

ACCOUNT = "a" * 32
SINCE = NOW - timedelta(days=1)
#: The Global API key's secret half, which must never leave for another origin or show up.
CANARY_KEY = "canary-global-key-5e0b-DO-NOT-LEAK"
EMAIL = "ops@example.com"
#: A valid answer to the UsageTotal operation.
TOTAL_ANSWER = orjson.dumps(
    {
        "data": {
            "viewer": {
                "accounts": [
                    {
                        "callsTurnUsageAdaptiveGroups": [
                            {"sum": {"egressBytes": 5, "ingressBytes": 7}}
                        ]
                    }
                ]
            }
        }
    }
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Hostile:
    """A loopback server whose answers the test decides; it records the headers it receives."""

    handler: Handler
    url: str = ""
    seen: list[dict[str, str]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(dict(request.headers))
        await request.read()
        return await self.handler(request)


@asynccontextmanager
async def hostile(handler: Handler) -> AsyncIterator[Hostile]:
    server = Hostile(handler)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.handle)
    async with serving(app) as server.url:
        yield server


def answer(body: bytes, status: int = 200, **headers: str) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        return web.Response(
            status=status, body=body, content_type="application/json", headers=headers
        )

    return handle


def client(url: str, **options: Any) -> TurnUsage:
    settings: dict[str, Any] = {
        "account_tag": ACCOUNT,
        "api_token": CANARY_TOKEN,
        "endpoint": url,
        "retry": NO_RETRY,
        "rate_budget": NO_RATE_BUDGET,
    }
    return TurnUsage(**(settings | options))


def global_key_client(url: str) -> TurnUsage:
    auth = GlobalApiKey(email=EMAIL, key=Secret(CANARY_KEY))
    settings = ClientSettings(
        account_tag=ACCOUNT, auth=auth, endpoint=url, retry=NO_RETRY, rate_budget=NO_RATE_BUDGET
    )
    return TurnUsage(settings=settings)


def chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything reachable through ``__cause__`` and ``__context__``."""
    todo, seen = [exc], set[int]()
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]


def renderings(exc: BaseException) -> list[str]:
    """Every way the exception (and its chain) could be shown: str, repr, attributes, details."""
    texts = []
    for item in chain(exc):
        texts += [str(item), repr(item), repr(getattr(item, "__dict__", {}))]
        texts += [repr(detail) for detail in getattr(item, "errors", ())]
    return texts


def assert_hidden(exc: BaseException, *secrets: str) -> None:
    for text in renderings(exc):
        for secret in secrets or (CANARY_TOKEN,):
            assert secret not in text
            # Nor a recognisable piece of it (an excerpt cut through the middle).
            assert secret[: len(secret) // 2] not in text


# --- Item 1: a server-given wait is bounded ---------------------------------------------------


@pytest.mark.parametrize(
    "retry_after",
    ["1000000000", "inf", "nan", "-5", "1e400", "9" * 400, "Fri, 31 Dec 9999 23:59:59 GMT"],
)
async def test_an_absurd_retry_after_is_bounded_by_the_budget_window(retry_after: str) -> None:
    body = orjson.dumps({"errors": [{"message": "rate limited"}]})
    async with (
        hostile(answer(body, 429, **{"Retry-After": retry_after})) as server,
        client(server.url) as turn,
    ):
        with pytest.raises(RateLimited) as caught:
            await turn.total(SINCE, NOW)
    wait = caught.value.retry_after
    assert wait is not None
    assert math.isfinite(wait)
    assert 0.0 <= wait <= 300.0


async def test_try_again_after_99999_hours_in_a_200_body_is_bounded() -> None:
    message = "rate limiter budget depleted, try again after 99999 hours"
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": "budget"}}]})
    async with hostile(answer(body)) as server, client(server.url) as turn:
        with pytest.raises(RateLimited) as caught:
            await turn.total(SINCE, NOW)
    assert caught.value.retry_after == 300.0


async def test_the_bound_is_configurable_and_the_retry_comes_after_it() -> None:
    answers = [(429, b'{"errors":[{"message":"rate limited"}]}'), (200, TOTAL_ANSWER)]

    async def handle(request: web.Request) -> web.StreamResponse:
        status, body = answers.pop(0)
        headers = {"Retry-After": "1000000000"} if status == 429 else {}
        return web.Response(status=status, body=body, headers=headers)

    policy = RetryPolicy(max_attempts=2, total_time=10.0)
    async with (
        hostile(handle) as server,
        client(server.url, retry=policy, max_server_wait=0.05) as turn,
    ):
        totals = await turn.total(SINCE, NOW)
    assert (totals.egress_bytes, totals.ingress_bytes) == (5, 7)
    assert not answers


@pytest.mark.parametrize("bad", [0, -1, math.nan, math.inf, "5", True])
def test_max_server_wait_is_validated(bad: Any) -> None:
    with pytest.raises(ConfigError, match="max_server_wait"):
        client("http://127.0.0.1:9/graphql", max_server_wait=bad)


# --- Item 2: no redirects, so no credentials for another origin -------------------------------


def redirect_to(target: Callable[[], str], status: int = 307) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": target()})

    return handle


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_global_api_key_never_follows_a_redirect_to_another_origin(status: int) -> None:
    async with hostile(answer(TOTAL_ANSWER)) as other:
        target = lambda: other.url + "?sig=query-secret-123"  # noqa: E731
        async with (
            hostile(redirect_to(target, status)) as server,
            global_key_client(server.url) as turn,
        ):
            with pytest.raises(RedirectRefused) as caught:
                await turn.total(SINCE, NOW)
    assert other.seen == []
    assert server.seen
    assert server.seen[0]["X-Auth-Key"] == CANARY_KEY
    message = str(caught.value)
    assert other.url in message
    assert "query-secret-123" not in message
    assert caught.value.status == status
    assert_hidden(caught.value, CANARY_KEY)


async def test_a_bearer_token_never_follows_a_redirect_either() -> None:
    async with (
        hostile(answer(TOTAL_ANSWER)) as other,
        hostile(redirect_to(lambda: other.url)) as server,
        client(server.url, retry=RetryPolicy(max_attempts=3)) as turn,
    ):
        with pytest.raises(RedirectRefused, match="redirect"):
            await turn.total(SINCE, NOW)
    # Refused for good: a redirect is not retried.
    assert len(server.seen) == 1
    assert other.seen == []


# --- Item 4: bounded response size and decompression ------------------------------------------


async def test_a_gzip_bomb_ends_in_a_typed_error() -> None:
    bomb = gzip.compress(b'{"data": "' + b"0" * (32 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 1024 * 1024
    async with (
        hostile(answer(bomb, **{"Content-Encoding": "gzip"})) as server,
        client(server.url, max_response_bytes=1024 * 1024) as turn,
    ):
        with pytest.raises(ResponseTooLarge, match="max_response_bytes"):
            await turn.total(SINCE, NOW)


async def test_a_big_plain_body_ends_in_a_typed_error() -> None:
    big = b'{"data": "' + b"x" * (4 * 1024 * 1024) + b'"}'
    async with (
        hostile(answer(big)) as server,
        client(server.url, max_response_bytes=1024 * 1024) as turn,
    ):
        with pytest.raises(ResponseTooLarge):
            await turn.total(SINCE, NOW)


async def test_a_big_chunked_body_without_length_ends_in_a_typed_error() -> None:
    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(64):
            await response.write(b"y" * 65536)
        await response.write_eof()
        return response

    async with (
        hostile(handle) as server,
        client(server.url, max_response_bytes=1024 * 1024) as turn,
    ):
        with pytest.raises(ResponseTooLarge):
            await turn.total(SINCE, NOW)


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("identity", lambda raw: raw)],
)
async def test_compressed_answers_within_the_limit_are_read(
    encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    async with (
        hostile(answer(compress(TOTAL_ANSWER), **{"Content-Encoding": encoding})) as server,
        client(server.url, max_response_bytes=len(TOTAL_ANSWER)) as turn,
    ):
        totals = await turn.total(SINCE, NOW)
    assert totals.egress_bytes == 5


@pytest.mark.parametrize("bad", [0, -1, 1.5, "64", math.nan, True])
def test_max_response_bytes_is_validated(bad: Any) -> None:
    with pytest.raises(ConfigError, match="max_response_bytes"):
        client("http://127.0.0.1:9/graphql", max_response_bytes=bad)


# --- Item 9: parameters validated at construction ---------------------------------------------


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "5", 0, -1, True, None])
def test_timeout_is_validated(bad: Any) -> None:
    if bad is None:
        with pytest.raises(ConfigError, match="timeout"):
            ClientSettings(account_tag=ACCOUNT, timeout=bad)
        return
    with pytest.raises(ConfigError, match="timeout"):
        client("http://127.0.0.1:9/graphql", timeout=bad)


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("connect_timeout", math.nan),
        ("connect_timeout", "1"),
        ("close_timeout", math.nan),
        ("close_timeout", -1),
        ("cache_ttl", math.nan),
        ("cache_ttl", math.inf),
        ("cache_ttl", "10"),
        ("cache_ttl", -3),
        ("max_concurrency", 0),
        ("max_concurrency", 2.5),
        ("max_concurrency", "4"),
        ("max_concurrency", True),
    ],
)
def test_settings_are_validated_naming_the_parameter(name: str, bad: Any) -> None:
    with pytest.raises(ConfigError, match=name):
        ClientSettings(account_tag=ACCOUNT, **{name: bad})


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("total_time", math.inf),
        ("total_time", math.nan),
        ("base_delay", math.nan),
        ("max_delay", math.inf),
        ("max_delay", "8"),
        ("max_attempts", 2.0),
        ("max_attempts", "3"),
    ],
)
def test_retry_policy_is_validated_naming_the_parameter(name: str, bad: Any) -> None:
    with pytest.raises(ConfigError, match=name):
        RetryPolicy(**{name: bad})


async def test_many_attempts_never_overflow_the_backoff() -> None:
    # Before: 2.0 ** 1024 raised OverflowError at attempt 1,025.
    body = orjson.dumps({"errors": [{"message": "too many queries in progress"}]})
    policy = RetryPolicy(max_attempts=1100, base_delay=0.0, max_delay=0.0, total_time=120.0)
    async with hostile(answer(body)) as server, client(server.url, retry=policy) as turn:
        with pytest.raises(Overloaded):
            await turn.total(SINCE, NOW)
    assert len(server.seen) == 1100


def test_a_huge_attempt_number_backs_off_at_most_max_delay() -> None:
    policy = RetryPolicy(max_attempts=10**9, base_delay=0.5, max_delay=8.0)
    assert 4.0 <= policy.backoff(10**6) <= 8.0


@pytest.mark.parametrize(
    "token", [CANARY_TOKEN + "\r\nX-Evil: 1", CANARY_TOKEN + "\n", CANARY_TOKEN + "\x00"]
)
def test_a_token_with_control_characters_is_a_config_error(token: str) -> None:
    with pytest.raises(ConfigError, match="api_token") as caught:
        client("http://127.0.0.1:9/graphql", api_token=token)
    assert_hidden(caught.value, token.strip())


def test_a_global_api_key_with_a_line_break_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="key") as caught:
        GlobalApiKey(email=EMAIL, key=Secret(CANARY_KEY + "\r\n"))
    assert_hidden(caught.value, CANARY_KEY)
    with pytest.raises(ConfigError, match="email"):
        GlobalApiKey(email="ops@example.com\r\nX-Evil: 1", key=Secret(CANARY_KEY))


# --- Item 10: secrets stay hidden -------------------------------------------------------------


def test_asdict_of_the_settings_does_not_reveal_the_token() -> None:
    turn = client("http://127.0.0.1:9/graphql")
    assert CANARY_TOKEN not in repr(dataclasses.asdict(turn.settings))
    assert CANARY_TOKEN not in repr(dataclasses.astuple(turn.settings))
    key = global_key_client("http://127.0.0.1:9/graphql")
    assert CANARY_KEY not in repr(dataclasses.asdict(key.settings))


@asynccontextmanager
async def malformed_http(reply: bytes) -> AsyncIterator[str]:
    """A raw TCP server that answers every request with ``reply`` (not valid HTTP)."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/graphql"
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 abc garbage\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nBad Header\r\n\r\nhello",
        ("HTTP/1.1 2x0 " + CANARY_TOKEN + "\r\n\r\n").encode(),  # the token in the error
    ],
)
async def test_transport_errors_hold_no_request_headers(reply: bytes) -> None:
    async with malformed_http(reply) as url, client(url) as turn:
        with pytest.raises(TransportError) as caught:
            await turn.total(SINCE, NOW)
    assert_hidden(caught.value)
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None


def echo(template: str) -> Handler:
    """Answers with ``template`` filled with the request's credentials (a hostile echo)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        text = template.format(
            auth=request.headers.get("Authorization", ""),
            key=request.headers.get("X-Auth-Key", ""),
        )
        return web.Response(status=200, text=text, content_type="text/html")

    return handle


@pytest.mark.parametrize(
    "template",
    [
        "<html>{auth}</html>",
        "<html>" + "." * 100 + "{auth}</html>",  # the token straddles the excerpt's end
    ],
)
async def test_an_echoed_token_is_redacted_from_an_unreadable_body(template: str) -> None:
    async with hostile(echo(template)) as server, client(server.url) as turn:
        with pytest.raises(UnreadableBody) as caught:
            await turn.total(SINCE, NOW)
    assert "[redact" in str(caught.value)
    assert_hidden(caught.value)


@pytest.mark.parametrize(
    "errors",
    [
        '[{{"message": "Unauthorized: {auth}", '
        '"extensions": {{"code": "authn", "echo": "{auth}"}}}}]',
        '["' + "." * 470 + '{auth}"]',
        '[{{"message": "not allowed {auth}"}}, {{"message": "{auth}"}}]',
    ],
)
async def test_an_echoed_token_is_redacted_from_graphql_errors(errors: str) -> None:
    async with (
        hostile(echo('{{"data": null, "errors": ' + errors + "}}")) as server,
        client(server.url) as turn,
    ):
        with pytest.raises(GraphQLErrors) as caught:
            await turn.total(SINCE, NOW)
    assert_hidden(caught.value)


async def test_an_echoed_global_api_key_is_redacted() -> None:
    body = (
        '{{"errors": [{{"message": "Unauthorized key {key}", "extensions": {{"code": "authn"}}}}]}}'
    )
    async with hostile(echo(body)) as server, global_key_client(server.url) as turn:
        with pytest.raises(AuthError) as caught:
            await turn.total(SINCE, NOW)
    assert "[redacted]" in str(caught.value)
    assert_hidden(caught.value, CANARY_KEY)


async def test_every_failure_is_a_turnmeter_error() -> None:
    # The hostile servers above never make a foreign exception escape.
    async with hostile(echo("{auth}")) as server, client(server.url) as turn:
        with pytest.raises(TurnmeterError):
            await turn.total(SINCE, NOW)
