"""The exporter's HTTP side: ``/metrics`` and ``/healthz`` on aiohttp, and its lifecycle.

::

    async with TurnUsage() as turn, Exporter(turn, ExporterSettings(state_path=path)) as exp:
        await exp.serve("127.0.0.1", 9877)   # polls on its own schedule until cancelled
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from turnmeter.client import TurnUsage
from turnmeter.exporter.metrics import Exposition
from turnmeter.exporter.poller import Clock, Poller
from turnmeter.exporter.settings import ExporterSettings
from turnmeter.exporter.state import StateStore
from turnmeter.lifecycle import AsyncLifecycle

METRICS_PATH = "/metrics"
HEALTH_PATH = "/healthz"


class Exporter(AsyncLifecycle):
    """A poller, its exposition and an aiohttp application serving them."""

    def __init__(
        self,
        turn: TurnUsage,
        settings: ExporterSettings | None = None,
        *,
        clock: Clock | None = None,
        store: StateStore | None = None,
    ) -> None:
        self.settings = settings or ExporterSettings()
        self.poller = Poller(turn, self.settings, clock=clock, store=store)
        try:
            self.exposition = Exposition(self.poller)
        except BaseException:  # no prometheus_client: leave no state file open behind
            self.poller.close()
            raise
        self.app = create_app(self)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def _exit(self, exc: BaseException | None) -> None:
        await self.close()

    def start_polling(self) -> None:
        """Poll now and then on the schedule, in a background task."""
        if self._task is None:
            self._stop.clear()
            self._task = asyncio.create_task(self.poller.run(self._stop))

    async def start_http(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0: a free port); return the port."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1]) if sockets else port
        return self.port

    async def serve(self, host: str, port: int) -> None:
        """Listen and poll until cancelled."""
        await self.start_http(host, port)
        self.start_polling()
        assert self._task is not None
        await self._task

    async def close(self) -> None:
        """Stop polling (a poll in flight is cancelled: nothing of it is counted) and listening."""
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.poller.close()


EXPORTER_KEY = web.AppKey("exporter", Exporter)


def create_app(exporter: Exporter) -> web.Application:
    app = web.Application()
    app[EXPORTER_KEY] = exporter
    app.router.add_get(METRICS_PATH, metrics_handler)
    app.router.add_get(HEALTH_PATH, health_handler)
    return app


async def metrics_handler(request: web.Request) -> web.Response:
    """The exposition from memory; OpenMetrics when the scraper's ``Accept`` asks for it."""
    exporter = request.app[EXPORTER_KEY]
    body, content_type = await exporter.exposition.body(request.headers.get("Accept"))
    response = web.Response(body=body)
    # aiohttp's content_type setter refuses parameters; the header carries version and charset.
    response.headers["Content-Type"] = content_type
    return response


async def health_handler(request: web.Request) -> web.Response:
    """200 ``ok`` (or ``starting`` before the first poll), 503 ``degraded`` after N failures."""
    poller = request.app[EXPORTER_KEY].poller
    stats = poller.stats
    status = "ok" if stats.polls_ok else "starting"
    if not poller.healthy:
        status = "degraded"
    body = {
        "status": status,
        "consecutive_failures": stats.consecutive_failures,
        "degraded_after": poller.settings.degraded_after,
        "last_error": stats.last_error,
        "watermark": poller.ledger.watermark.isoformat(),
        "data_age_seconds": round((poller.clock() - poller.ledger.watermark).total_seconds(), 3),
    }
    return web.json_response(body, status=503 if status == "degraded" else 200)
