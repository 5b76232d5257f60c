"""The clients the benchmark compares, each asking the same server for the same rows.

Most contenders send the generated ``UsageTimeseries`` operation (minute, egress) with distinct
variables per request (so turnmeter's single-flight cannot merge concurrent requests) and return
the rows they built; the "wide" contenders (the DSL, its floor and its msgspec limit) send the
DSL's five-field ``TurnUsageQuery`` (:data:`bench.server.WIDE_FIELDS`).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import orjson
from cf_analytics import row_decoding
from cf_analytics.operations import USAGE_TIMESERIES_GQL
from cf_analytics.usage_rows import USAGE_TIMESERIES_DECODER

from bench.server import WIDE_FIELDS

ROOT = Path(__file__).resolve().parents[1]
OPERATION = "UsageTimeseries"
ACCOUNT = "0123456789abcdef0123456789abcdef"
TOKEN = "bench-token"
BASE = datetime(2025, 11, 1, tzinfo=UTC)
#: The default ariadne-codegen package generated at bench start (httpx base client).
HTTPX_PACKAGE = "cf_bench_httpx"
#: Requests in flight in the concurrency test; turnmeter's max_concurrency is set to match, so
#: its own cap (default 8) does not queue what the other clients send at once.
BURST_IN_FLIGHT = 20


#: Minutes in the benchmark's range: the server's largest answer, one row a minute from BASE.
RANGE_MINUTES = 10_000


def window(i: int) -> tuple[datetime, datetime]:
    """Request ``i``'s range: the server's 10,000 minutes, moved ``i`` microseconds earlier so
    that no two requests are equal (the range's last minute stays the series' last)."""
    since = BASE - timedelta(microseconds=i)
    return since, since + timedelta(minutes=RANGE_MINUTES)


def plain_variables(n: int, i: int) -> dict[str, Any]:
    since, until = window(i)
    return {
        "accountTag": ACCOUNT,
        "filter": {"datetimeMinute_geq": since.isoformat(), "datetimeMinute_lt": until.isoformat()},
        "limit": n,
    }


class Contender:
    """One client: ``setup`` once, ``fetch(n, i)`` per request, ``close`` at the end."""

    name = "?"

    async def setup(self, url: str) -> None:
        self.url = url

    async def fetch(self, n: int, i: int) -> Any:
        raise NotImplementedError

    async def close(self) -> None:
        return None


def wide_query() -> Any:
    """The DSL query of the wide contenders (three dimensions, two sums; ``limit`` per call)."""
    from turnmeter import Query

    names = [name for name, _, _ in WIDE_FIELDS]
    return Query(dimensions=names[:3], metrics=names[3:], order_by=["minute", "key_id"])


def wide_text() -> str:
    from turnmeter.query.catalog import lookup
    from turnmeter.query.document import document_for

    return document_for(tuple(lookup(name) for name, _, _ in WIDE_FIELDS))


class RawAiohttp(Contender):
    """aiohttp posting JSON and decoding with ``loads``: untyped dicts."""

    def __init__(
        self,
        name: str,
        loads: Callable[[bytes], Any],
        dumps: Callable[[Any], Any],
        wide: bool = False,
    ):
        self.name, self.loads, self.dumps, self.wide = name, loads, dumps, wide

    async def setup(self, url: str) -> None:
        await super().setup(url)
        self.session = aiohttp.ClientSession()
        self.query = wide_text() if self.wide else USAGE_TIMESERIES_GQL
        self.operation = "TurnUsageQuery" if self.wide else OPERATION
        self.headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}

    async def fetch(self, n: int, i: int) -> Any:
        payload = {"query": self.query, "operationName": self.operation}
        payload["variables"] = plain_variables(n, i)
        async with self.session.post(
            self.url, data=self.dumps(payload), headers=self.headers
        ) as response:
            data = self.loads(await response.read())["data"]
        return data["viewer"]["accounts"][0]["callsTurnUsageAdaptiveGroups"]

    async def close(self) -> None:
        await self.session.close()


def floor() -> RawAiohttp:
    return RawAiohttp("aiohttp + json.loads, untyped (the floor)", json.loads, json.dumps)


def wide_floor() -> RawAiohttp:
    name = "aiohttp + json.loads, untyped, 5 fields (the DSL's floor)"
    return RawAiohttp(name, json.loads, json.dumps, wide=True)


class MsgspecStructs(RawAiohttp):
    """aiohttp + msgspec decoding straight into typed Structs (``Time`` as a datetime, in C):
    what a hand-written client for one shape can do, the practical limit."""

    def __init__(self, name: str, wide: bool = False):
        super().__init__(name, json.loads, json.dumps, wide)
        leaves = WIDE_FIELDS if wide else (WIDE_FIELDS[0], WIDE_FIELDS[3])
        blocks: dict[str, list[tuple[str, Any]]] = {}
        for name_, block, key in leaves:
            kind = datetime if name_ == "minute" else (int if block == "sum" else str)
            blocks.setdefault(block, []).append((key, kind))
        group = msgspec.defstruct(
            "Group",
            [(b, msgspec.defstruct(b.capitalize(), f, gc=False)) for b, f in blocks.items()],
            gc=False,
        )
        account = msgspec.defstruct("Account", [("callsTurnUsageAdaptiveGroups", list[group])])
        viewer = msgspec.defstruct("Viewer", [("accounts", list[account])])
        data = msgspec.defstruct("Data", [("viewer", viewer)])
        self.decoder = msgspec.json.Decoder(msgspec.defstruct("Envelope", [("data", data)]))

    async def fetch(self, n: int, i: int) -> Any:
        payload = {"query": self.query, "operationName": self.operation}
        payload["variables"] = plain_variables(n, i)
        async with self.session.post(
            self.url, data=self.dumps(payload), headers=self.headers
        ) as response:
            envelope = self.decoder.decode(await response.read())
        return envelope.data.viewer.accounts[0].callsTurnUsageAdaptiveGroups


def orjson_raw() -> RawAiohttp:
    return RawAiohttp("aiohttp + orjson, untyped", orjson.loads, orjson.dumps)


class Gql(Contender):
    """gql 4 over its aiohttp transport, optionally with the schema and typed result parsing."""

    def __init__(self, name: str, schema: bool, parse: bool):
        self.name, self.schema, self.parse = name, schema, parse

    async def setup(self, url: str) -> None:
        from gql import Client, gql
        from gql.transport.aiohttp import AIOHTTPTransport

        transport = AIOHTTPTransport(url=url, headers={"Authorization": f"Bearer {TOKEN}"})
        sdl = (ROOT / "schema" / "cloudflare-turn.graphql").read_text() if self.schema else None
        self.client = Client(
            transport=transport, schema=sdl, parse_results=self.parse, execute_timeout=120
        )
        self.session = await self.client.connect_async()
        self.document = gql(USAGE_TIMESERIES_GQL).document

    async def fetch(self, n: int, i: int) -> Any:
        from gql.graphql_request import GraphQLRequest

        request = GraphQLRequest(
            self.document, variable_values=plain_variables(n, i), operation_name=OPERATION
        )
        data = await self.session.execute(request)
        return data["viewer"]["accounts"][0]["callsTurnUsageAdaptiveGroups"]

    async def close(self) -> None:
        await self.client.close_async()


class AriadneHttpx(Contender):
    """ariadne-codegen's own output with its default httpx base client and pydantic models."""

    name = "ariadne-codegen client, default httpx base client"

    def __init__(self, package_dir: Path):
        self.package_dir = package_dir

    async def setup(self, url: str) -> None:
        if str(self.package_dir) not in sys.path:
            sys.path.insert(0, str(self.package_dir))
        package = __import__(HTTPX_PACKAGE)
        self.filter_type = package.AccountCallsTurnUsageAdaptiveGroupsFilter_InputObject
        self.client = package.Client(url=url, headers={"Authorization": f"Bearer {TOKEN}"})

    async def fetch(self, n: int, i: int) -> Any:
        since, until = window(i)
        flt = self.filter_type(datetimeMinute_geq=since, datetimeMinute_lt=until)
        result = await self.client.usage_timeseries(ACCOUNT, flt, n)
        return result.viewer.accounts[0].calls_turn_usage_adaptive_groups

    async def close(self) -> None:
        await self.client.http_client.aclose()


class Turnmeter(Contender):
    """turnmeter: the seed method, the generated method it calls, the DSL, and two variants."""

    def __init__(self, name: str, mode: str):
        self.name, self.mode = name, mode

    async def setup(self, url: str) -> None:
        from turnmeter import TurnUsage
        from turnmeter.transport.ratelimit import RateBudget

        # No client-side budget (the server is ours); the cap matches the concurrency test.
        self.turn = TurnUsage(
            account_tag=ACCOUNT,
            api_token=TOKEN,
            endpoint=url,
            rate_budget=RateBudget(limit=None),
            max_concurrency=BURST_IN_FLIGHT,
        )
        self.wide = wide_query()

    async def fetch(self, n: int, i: int) -> Any:
        from turnmeter.query.filters import filter_variables

        since, until = window(i)
        if self.mode == "fast":
            return await self.turn.timeseries(since, until, limit=n)
        if self.mode == "fast, page after":  # a minute more: a full page may not be the last
            return await self.turn.timeseries(since, until + timedelta(minutes=1), limit=n)
        if self.mode == "generated":
            flt = filter_variables(since, until)
            return await self.turn.operations.usage_timeseries(ACCOUNT, flt, n)
        if self.mode == "dsl":
            query = dataclasses.replace(self.wide, limit=n)
            return await self.turn.query(query, since, until, clock=lambda: until)
        if self.mode == "stream":  # stream() takes no order_by: rows come in time order
            query = dataclasses.replace(self.wide, order_by=(), limit=n)
            return [row async for row in self.turn.stream(query, since, until, clock=lambda: until)]
        if self.mode == "fast, GC not paused":
            saved, row_decoding.GC_PAUSE_MIN_ROWS = row_decoding.GC_PAUSE_MIN_ROWS, sys.maxsize
            try:
                return await self.turn.timeseries(since, until, limit=n)
            finally:
                row_decoding.GC_PAUSE_MIN_ROWS = saved
        if self.mode == "slow":
            return await self._slow(n, since, until)
        return await self._bare(n, since, until)

    async def _slow(self, n: int, since: datetime, until: datetime) -> Any:
        from cf_analytics.usage_timeseries import UsageTimeseries

        from turnmeter.query.filters import filter_variables
        from turnmeter.rows import SeriesPoint

        variables = {"accountTag": ACCOUNT, "filter": filter_variables(since, until), "limit": n}
        data = await self.turn.transport.execute(USAGE_TIMESERIES_GQL, OPERATION, variables)
        result = UsageTimeseries.model_validate(data)
        groups = result.viewer.accounts[0].calls_turn_usage_adaptive_groups  # type: ignore[union-attr]
        return [SeriesPoint(g.dimensions.datetime_minute, g.sum.egress_bytes) for g in groups]  # type: ignore[union-attr]

    async def _bare(self, n: int, since: datetime, until: datetime) -> Any:
        # The generated decoder minus the pipeline (single-flight, cache, cap, budget, retry,
        # spans): the facade's own variables + post + the decoder (msgspec from bytes; orjson +
        # errors[] otherwise). The gap to the fast row is what the pipeline costs per request.
        from turnmeter.query.filters import filter_variables
        from turnmeter.transport.http import decode_response

        variables = {"accountTag": ACCOUNT, "filter": filter_variables(since, until), "limit": n}
        body = orjson.dumps(
            {"query": USAGE_TIMESERIES_GQL, "operationName": OPERATION, "variables": variables},
            option=orjson.OPT_SORT_KEYS,
        )
        status, headers, raw = await self.turn.transport.post(body, OPERATION)
        decoder = USAGE_TIMESERIES_DECODER
        rows = decoder.decode_body(raw) if status < 400 else None
        if rows is not None:
            return rows
        data = decode_response(status, headers, raw, operation=OPERATION)
        return decoder(data, OPERATION)

    async def close(self) -> None:
        await self.turn.close()


class TurnmeterDefault(Turnmeter):
    """``TurnUsage.timeseries`` as the default client runs it: rate budget, single-flight,
    retries and the concurrency cap all on. The budget's limit is set past what the benchmark
    sends (Cloudflare's 300 per 5 minutes would stop it), so every grant is counted and none
    waits; the cap matches the concurrency test, as for the other turnmeter rows."""

    def __init__(self) -> None:
        super().__init__(DEFAULT_CLIENT, "fast")

    async def setup(self, url: str) -> None:
        from turnmeter import TurnUsage
        from turnmeter.transport.ratelimit import RateBudget

        self.url = url
        self.turn = TurnUsage(
            account_tag=ACCOUNT,
            api_token=TOKEN,
            endpoint=url,
            rate_budget=RateBudget(limit=UNREACHED_BUDGET),
            max_concurrency=BURST_IN_FLIGHT,
        )


#: A rate budget no benchmark run reaches: the limiter runs, it never makes anyone wait.
UNREACHED_BUDGET = 10**9
DEFAULT_CLIENT = "turnmeter seed method, default client (rate budget on)"
#: Contender names the goals refer to.
FLOOR = "aiohttp + json.loads, untyped (the floor)"
WIDE_FLOOR = "aiohttp + json.loads, untyped, 5 fields (the DSL's floor)"
LIMIT = "aiohttp + msgspec typed structs, 2 fields (the practical limit)"
WIDE_LIMIT = "aiohttp + msgspec typed structs, 5 fields"
GQL_TYPED = "gql 4 with schema and typed result parsing"
HTTPX = "ariadne-codegen client, default httpx base client"
SLOW = "generated pydantic models over turnmeter's transport (no decoder)"
FAST = "**turnmeter seed method** (`TurnUsage.timeseries`)"
GENERATED = "turnmeter generated method (`turn.operations.usage_timeseries`)"
PAGE_AFTER = "turnmeter seed method, range a minute longer (a full page asks the page after)"
DSL = "**turnmeter DSL** (`TurnUsage.query`, 5 fields)"


def all_contenders(httpx_package: Path) -> list[Contender]:
    """Every contender, the floor first."""
    return [
        floor(),
        orjson_raw(),
        MsgspecStructs(LIMIT),
        Gql("gql 4, no schema, untyped", schema=False, parse=False),
        Gql("gql 4 with schema (validates every request)", schema=True, parse=False),
        Gql(GQL_TYPED, schema=True, parse=True),
        AriadneHttpx(httpx_package),
        Turnmeter(SLOW, "slow"),
        Turnmeter(FAST, "fast"),
        TurnmeterDefault(),
        Turnmeter(GENERATED, "generated"),
        Turnmeter(PAGE_AFTER, "fast, page after"),
        Turnmeter("turnmeter seed method, GC not paused while decoding", "fast, GC not paused"),
        Turnmeter("turnmeter generated decoder without the transport pipeline", "bare"),
        wide_floor(),
        MsgspecStructs(WIDE_LIMIT, wide=True),
        Turnmeter(DSL, "dsl"),
    ]


def generate_httpx_client(target: Path) -> Path:
    """Run ariadne-codegen with the project's config but its default (httpx) base client."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ariadne-codegen"]
    # ariadne-codegen as it comes: no turnmeter plugin, its own base client.
    for key in ("base_client_name", "base_client_file_path", "plugins", "turnmeter"):
        config.pop(key, None)
    config.update(
        schema_path=str(ROOT / config["schema_path"]),
        queries_path=str(ROOT / config["queries_path"]),
        target_package_name=HTTPX_PACKAGE,
        target_package_path=str(target),
        files_to_include=[str(ROOT / "src/turnmeter/codegen/cf_scalars.py")],
    )
    config_file = target / "ariadne.toml"
    config_file.write_text(_toml({"tool": {"ariadne-codegen": config}}))
    codegen = Path(sys.executable).parent / "ariadne-codegen"
    subprocess.run(
        [str(codegen), "--config", str(config_file), "client"],
        check=True,
        capture_output=True,
        cwd=target,
    )
    return target


def _toml(table: dict[str, Any], prefix: str = "") -> str:
    # Just enough TOML for ariadne-codegen's section: strings, bools, lists and sub-tables.
    lines = [f"[{prefix}]"] if prefix else []
    nested = {k: v for k, v in table.items() if isinstance(v, dict)}
    for key, value in table.items():
        if not isinstance(value, dict):
            lines.append(f"{json.dumps(key)} = {json.dumps(value)}")
    text = "\n".join(lines) + "\n"
    for key, value in nested.items():
        name = f"{prefix}.{json.dumps(key)}" if prefix else json.dumps(key)
        text += _toml(value, name)
    return text
