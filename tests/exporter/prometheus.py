"""A real Prometheus server (the Debian package) on loopback, scraping the exporter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from tests.servers import free_port, server_binary

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "turnmeter-rules.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "turnmeter-turn.json"
#: Scrape and rule evaluation every second: tests wait seconds, not minutes (the scrape
#: timeout is the interval, so a loaded machine may miss a scrape: tests wait for a match).
SCRAPE_INTERVAL = "1s"
START_SECONDS = 60.0


class Prometheus:
    """A running Prometheus and its HTTP API."""

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url
        self._session = session

    async def api(self, path: str, **params: str) -> Any:
        async with self._session.get(f"{self.url}/api/v1/{path}", params=params) as response:
            body = await response.json()
        assert body["status"] == "success", body
        return body["data"]

    async def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector (a scalar comes back as one sample)."""
        data = await self.api("query", query=expr)
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        result: list[dict[str, Any]] = data["result"]
        return result

    async def wait_for(self, expr: str, check: Any, within: float = 60.0) -> list[dict[str, Any]]:
        """Query ``expr`` until ``check(result)`` holds; fail with the last result if not."""
        deadline = asyncio.get_running_loop().time() + within
        result: list[dict[str, Any]] = []
        while asyncio.get_running_loop().time() < deadline:
            result = await self.query(expr)
            if check(result):
                return result
            await asyncio.sleep(0.25)
        raise AssertionError(f"{expr} never satisfied the check; last result: {result}")


@asynccontextmanager
async def prometheus_scraping(target: str, tmp: Path) -> AsyncIterator[Prometheus]:
    """Prometheus on a free loopback port scraping ``target`` (host:port) as job ``turnmeter``,
    with the shipped alert rules loaded."""
    binary = server_binary("prometheus")
    port = free_port()
    config = tmp / "prometheus.yml"
    config.write_text(
        f"""global:
  scrape_interval: {SCRAPE_INTERVAL}
  evaluation_interval: {SCRAPE_INTERVAL}
rule_files:
  - {RULES}
scrape_configs:
  - job_name: turnmeter
    static_configs:
      - targets: ["{target}"]
""",
        encoding="utf-8",
    )
    log = (tmp / "prometheus.log").open("w")
    proc = await asyncio.create_subprocess_exec(
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            await _wait_ready(session, url, proc, tmp)
            yield Prometheus(url, session)
    finally:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 20)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        log.close()


async def _wait_ready(
    session: aiohttp.ClientSession, url: str, proc: asyncio.subprocess.Process, tmp: Path
) -> None:
    deadline = asyncio.get_running_loop().time() + START_SECONDS
    while asyncio.get_running_loop().time() < deadline:
        if proc.returncode is not None:
            raise AssertionError(
                f"prometheus exited {proc.returncode}: {(tmp / 'prometheus.log').read_text()}"
            )
        try:
            async with session.get(f"{url}/-/ready") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError("prometheus did not become ready")


#: What the ``prometheus_for`` fixture gives a test: start one scraping a target.
StartPrometheus = Callable[[str], Awaitable[Prometheus]]
