"""Run the sandbox: in-process (``async with Sandbox() as sb``) or as an aiohttp app."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from aiohttp.web_request import BaseRequest

from turnmeter.lifecycle import AsyncLifecycle
from turnmeter.sandbox.app import GRAPHQL_PATH, SandboxState, create_app
from turnmeter.sandbox.faults import FaultQueue
from turnmeter.sandbox.loaders import TABULAR_SUFFIXES, read_rows
from turnmeter.sandbox.model import SandboxConfig, UsageRow
from turnmeter.sandbox.replies import http_error_reply, json_response
from turnmeter.sandbox.sfu import SfuRow
from turnmeter.sandbox.store import UsageStore, row_tuple
from turnmeter.sandbox.synthetic import TrafficSpec, generate

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787


CLOCK_META = "now"


def build_store(config: SandboxConfig) -> UsageStore:
    """The store ``config`` asks for: its rows, its database (or CSV/NDJSON) file, or synthetic
    traffic."""
    if config.rows is not None:
        return UsageStore.create(row_tuple(row) for row in config.rows)
    if config.database is not None:
        if config.database.suffix.lower() in TABULAR_SUFFIXES:
            return UsageStore.create(read_rows(config.database))
        return UsageStore.open(config.database)
    return UsageStore.create(generate(traffic_spec(config)))


def traffic_spec(config: SandboxConfig) -> TrafficSpec:
    """The synthetic traffic ``config`` describes (seed, days, keys, customers, clock)."""
    return TrafficSpec(
        now=config.clock(),
        seed=config.seed,
        days=config.days,
        keys=config.keys,
        customers=config.customers,
    )


def seed_database(path: Path, spec: TrafficSpec) -> int:
    """Write synthetic traffic to a new SQLite file at ``path``; return the row count.

    The file records the clock it was generated for, so serving it later answers "now" queries
    the same way (see :func:`resolve_clock`).
    """
    store = UsageStore.create(generate(spec), path)
    try:
        store.set_meta(CLOCK_META, spec.now.astimezone(UTC).isoformat())
        return store.count()
    finally:
        store.close()


def resolve_clock(config: SandboxConfig) -> SandboxConfig:
    """``config`` with ``now`` taken from its database file's recorded clock, if it has none."""
    if config.now is not None or config.database is None:
        return config
    if config.database.suffix.lower() in TABULAR_SUFFIXES or not config.database.is_file():
        return config
    store = UsageStore.open(config.database)
    try:
        recorded = store.meta(CLOCK_META)
    finally:
        store.close()
    if recorded is None:
        return config
    return dataclasses.replace(config, now=datetime.fromisoformat(recorded))


def build_app(config: SandboxConfig | None = None) -> web.Application:
    """An aiohttp application for ``web.run_app`` (what ``turnmeter sandbox serve`` runs)."""
    config = resolve_clock(config or SandboxConfig())
    state = SandboxState.build(config, build_store(config))
    app = create_app(state)

    async def close_store(_app: web.Application) -> None:
        state.engine.accounts.close()
        state.store.close()

    app.on_cleanup.append(close_store)
    return app


class _JsonErrorHandler(web.RequestHandler):
    """aiohttp's per-connection protocol, answering requests it cannot parse (a request line
    over 8190 bytes, bytes that are not HTTP) with Cloudflare-shaped JSON, not text/plain.

    Such requests never reach the application, so no middleware sees them.
    """

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        # aiohttp's own version logs the error and refuses if an answer has already started
        plain = super().handle_error(request, status, exc, message)
        text = message if status != 500 and message else plain.reason or "Internal server error"
        response = json_response(http_error_reply(status, text))
        response.force_close()  # as aiohttp does: the connection's state is unknown
        return response


class _JsonErrorServer(web.Server):
    def __call__(self) -> web.RequestHandler:
        return _JsonErrorHandler(self, loop=self._loop, **self._kwargs)


class SandboxRunner(web.AppRunner):
    """An AppRunner whose connections answer even unparseable requests with JSON."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return _JsonErrorServer(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=asyncio.get_running_loop(),
            **server._kwargs,
        )


def run_app(app: web.Application, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve ``app`` until Ctrl-C or SIGTERM: ``web.run_app``, but with the sandbox's JSON
    answers to requests aiohttp cannot parse (``web.run_app`` builds its own runner)."""

    async def serve() -> None:
        stop = asyncio.Event()
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        runner = SandboxRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
            await stop.wait()  # Ctrl-C cancels this wait; SIGTERM ends it
        finally:
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


class Sandbox(AsyncLifecycle):
    """A Cloudflare-faithful TURN analytics server on loopback, in the current event loop.

    ::

        async with Sandbox(SandboxConfig(now=fixed)) as sandbox:
            client = MyClient(url=sandbox.url, token=sandbox.config.token)
            sandbox.faults.push(Fault.status(503), Fault.reset())  # fail twice, then answer
    """

    def __init__(
        self, config: SandboxConfig | None = None, *, host: str = DEFAULT_HOST, port: int = 0
    ) -> None:
        self.config = resolve_clock(config or SandboxConfig())
        self.host = host
        self.port = port
        self.faults = FaultQueue()
        self.app: web.Application | None = None
        self._state: SandboxState | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """The GraphQL endpoint, e.g. ``http://127.0.0.1:54321/graphql``."""
        return f"http://{self.host}:{self.port}{GRAPHQL_PATH}"

    @property
    def rtc_url(self) -> str:
        """The TURN key API's base, e.g. ``http://127.0.0.1:54321/v1`` (Cloudflare's is
        ``https://rtc.live.cloudflare.com/v1``); bearer ``config.turn_key_token``."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def state(self) -> SandboxState:
        """The running server's shared state (store, engine, budget)."""
        if self._state is None:
            raise RuntimeError("the sandbox is not running; use `async with Sandbox() as sb`")
        return self._state

    async def _enter(self) -> None:
        store = await asyncio.to_thread(build_store, self.config)
        self._state = SandboxState.build(self.config, store)
        self._state.faults = self.faults
        self.app = create_app(self._state)
        # access logs off: tests and the demo share the terminal with this server
        self._runner = SandboxRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        # aiohttp has no public accessor for the port the OS picked for port=0
        sockets = getattr(site._server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1])

    async def _exit(self, exc: BaseException | None) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._state is not None:
            self._state.engine.accounts.close()
            self._state.store.close()
            self._state = None

    def rows(self, account: str | None = None) -> list[UsageRow]:
        """Every raw TURN row of the main account, or of ``account`` (for brute-force
        expectations in tests)."""
        if account is None:
            return self.state.store.rows()
        return self.state.engine.accounts.turn_store(self.config, account).rows()

    def sfu_rows(self, account: str | None = None) -> list[SfuRow]:
        """Every raw SFU row of the main account, or of ``account``."""
        tag = self.config.account_tag if account is None else account
        return self.state.engine.accounts.sfu_store(self.config, tag).rows()

    def add_rows(self, rows: Iterable[UsageRow]) -> int:
        """Add raw rows to the running sandbox, as Cloudflare's late-arriving data would appear
        (the SFU traffic derived from TURN traffic follows)."""
        rows = list(rows)
        added = self.state.store.add(rows)
        self.state.engine.accounts.turn_rows_added(self.config, self.config.account_tag, rows)
        return added

    def relay(
        self,
        username: str,
        *,
        egress_bytes: int,
        ingress_bytes: int = 0,
        minute: datetime | None = None,
    ) -> UsageRow:
        """Record one minute of traffic relayed for a username the TURN key API issued (its key
        id and custom identifier come with it); ``minute`` defaults to the sandbox clock's
        (answered by ranges that end after it).

        Raises :class:`~turnmeter.sandbox.turn_keys.RelayRefused` for a username never issued,
        revoked or expired: Cloudflare bills those no more.
        """
        when = (minute or self.config.clock()).replace(second=0, microsecond=0)
        row = self.state.turn_keys.usage_row(
            username, when, egress_bytes=egress_bytes, ingress_bytes=ingress_bytes
        )
        self.add_rows([row])
        return row

    def add_sfu_rows(self, rows: Iterable[SfuRow], account: str | None = None) -> int:
        """Add raw SFU rows to the main account (or ``account``), as late data would appear."""
        tag = self.config.account_tag if account is None else account
        return self.state.engine.accounts.sfu_store(self.config, tag).add(rows)

    def set_now(self, now: datetime) -> None:
        """Move the sandbox's fixed clock (``notOlderThan``, relative answers) to ``now``."""
        self.config = dataclasses.replace(self.config, now=now)
        self.state.config = self.config
        self.state.engine.config = self.config

    def reset_budget(self) -> None:
        """Refill the rate-limit budget."""
        self.state.engine.budget.reset()
