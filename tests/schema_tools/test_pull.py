"""``schema pull`` over real loopback HTTP: the sandbox end to end, and a small fault server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import orjson
import pytest
from aiohttp import web
from graphql import build_schema, introspection_from_schema

from tests.conftest import CANARY_TOKEN
from tests.schema_tools.conftest import COMMITTED_SCHEMA
from turnmeter.cli import main
from turnmeter.errors import AuthError, ConfigError, Overloaded, TurnmeterError, UnreadableBody
from turnmeter.sandbox import Sandbox
from turnmeter.schema_tools import prune_text, pull, render

#: Retries in tests wait milliseconds, not seconds.
FAST = {"backoff": 0.001, "attempts": 3}


async def test_pull_from_sandbox_matches_pruning_the_dump(
    sandbox: Sandbox, tmp_path: Path, dump_text: str
) -> None:
    result = await pull(
        sandbox.url,
        token=sandbox.config.token,
        out_dir=tmp_path / "schema",
        cache_dir=tmp_path / "cache",
    )
    assert result.pruned is not None
    assert result.pruned.schema_file is not None
    assert result.pruned.schema_file.read_text(encoding="utf-8") == render(prune_text(dump_text))
    assert result.pruned.provenance.format == "introspection-json"
    assert result.pruned.provenance.source == sandbox.url
    cached = orjson.loads(result.cache_file.read_bytes())
    assert "__schema" in cached["data"]
    assert result.cache_file.parent == tmp_path / "cache"


async def test_cli_pull_with_token_env(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SANDBOX_TOKEN", sandbox.config.token)
    argv = ["schema", "pull", sandbox.url, "--token-env", "SANDBOX_TOKEN"]
    argv += ["--out", str(tmp_path / "schema"), "--cache-dir", str(tmp_path / "cache")]
    # The CLI runs its own event loop; the sandbox keeps serving on this one meanwhile.
    assert await asyncio.to_thread(main, argv) == 0
    assert (
        tmp_path / "schema" / "cloudflare-turn.graphql"
    ).read_bytes() == COMMITTED_SCHEMA.read_bytes()


async def test_wrong_token_is_an_auth_error_without_the_token(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    with pytest.raises(AuthError) as caught:
        await pull(sandbox.url, token=CANARY_TOKEN + "-wrong", cache_dir=tmp_path, **FAST)
    assert CANARY_TOKEN not in f"{caught.value} {caught.value!r}"
    assert not any(path.is_file() for path in tmp_path.rglob("*"))  # noqa: ASYNC240


Handler = Callable[[web.Request], web.Response]


def OK(_request: web.Request) -> web.Response:  # noqa: N802 - a marker, read like a constant
    raise AssertionError("replaced by the introspection answer")


class FaultServer:
    """An aiohttp server on loopback answering with a script of handlers (the last repeats)."""

    def __init__(self) -> None:
        schema = build_schema(COMMITTED_SCHEMA.read_text(encoding="utf-8"))
        self.introspection = {"data": introspection_from_schema(schema)}
        self.seen: list[web.Request] = []
        self.runners: list[web.AppRunner] = []

    async def start(self, script: list[Handler]) -> str:
        async def answer(request: web.Request) -> web.Response:
            self.seen.append(request)
            handler = script[min(len(self.seen), len(script)) - 1]
            return web.json_response(self.introspection) if handler is OK else handler(request)

        app = web.Application()
        app.router.add_post("/graphql", answer)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self.runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}/graphql"


@pytest.fixture
async def fault_server() -> AsyncIterator[FaultServer]:
    server = FaultServer()
    yield server
    for runner in server.runners:
        await runner.cleanup()


def _busy(_request: web.Request) -> web.Response:
    return web.Response(status=503, text="<html>busy</html>")


def _html(_request: web.Request) -> web.Response:
    return web.Response(status=200, text="<html>proxy</html>", content_type="text/html")


async def test_retries_busy_server_then_succeeds(fault_server: FaultServer, tmp_path: Path) -> None:
    url = await fault_server.start([_busy, _busy, OK])
    result = await pull(url, out_dir=tmp_path / "schema", cache_dir=tmp_path / "cache", **FAST)
    assert result.attempts == 3
    assert result.pruned is not None
    assert result.pruned.sdl == COMMITTED_SCHEMA.read_text(encoding="utf-8")


async def test_gives_up_after_attempts(fault_server: FaultServer, tmp_path: Path) -> None:
    url = await fault_server.start([_busy])
    with pytest.raises(Overloaded):
        await pull(url, cache_dir=tmp_path, **FAST)
    assert len(fault_server.seen) == 3


async def test_non_json_body_is_unreadable(fault_server: FaultServer, tmp_path: Path) -> None:
    url = await fault_server.start([_html])
    with pytest.raises(UnreadableBody):
        await pull(url, cache_dir=tmp_path, **FAST)


async def test_no_token_is_sent_to_other_hosts_unless_asked(
    fault_server: FaultServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", CANARY_TOKEN)
    url = await fault_server.start([OK])
    result = await pull(url, cache_dir=tmp_path / "cache", prune=False)
    assert result.pruned is None
    assert "Authorization" not in fault_server.seen[0].headers
    await pull(url, token_env="CLOUDFLARE_API_TOKEN", cache_dir=tmp_path / "cache", prune=False)
    authorization = fault_server.seen[1].headers["Authorization"]
    assert authorization == f"Bearer {CANARY_TOKEN}"
    assert not (tmp_path / "schema").exists()


async def test_cloudflare_url_needs_a_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="CLOUDFLARE_API_TOKEN"):
        await pull(cache_dir=tmp_path)


async def test_cache_only_keeps_the_full_introspection(
    fault_server: FaultServer, tmp_path: Path
) -> None:
    url = await fault_server.start([OK])
    result = await pull(url, cache_dir=tmp_path, prune=False)
    cached = json.loads(result.cache_file.read_text())
    assert cached["data"]["__schema"]["queryType"]["name"] == "Query"
    assert result.url == url


def _echo_token_as_html(request: web.Request) -> web.Response:
    return web.Response(status=200, text=f"<html>{request.headers['Authorization']}</html>")


def _echo_token_as_error(request: web.Request) -> web.Response:
    echoed = request.headers["Authorization"]
    return web.json_response({"data": None, "errors": [{"message": f"bad header {echoed}"}]})


@pytest.mark.parametrize("echo", [_echo_token_as_html, _echo_token_as_error])
async def test_a_token_echoed_by_the_server_is_redacted(
    fault_server: FaultServer, tmp_path: Path, echo: Handler
) -> None:
    url = await fault_server.start([echo])
    with pytest.raises(TurnmeterError) as caught:
        await pull(url, token=CANARY_TOKEN, cache_dir=tmp_path, **FAST)
    assert CANARY_TOKEN not in f"{caught.value} {caught.value!r}"
