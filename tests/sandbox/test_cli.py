"""``turnmeter sandbox seed`` and ``serve``: a seeded file served by a real subprocess."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from tests.sandbox.conftest import SECRET, post
from turnmeter.cli import main
from turnmeter.sandbox import Sandbox, SandboxConfig

CLOCK = "2025-06-01T00:00:00Z"
TOTAL = """query($tag: string!, $filter: AccountCallsTurnUsageAdaptiveGroupsFilter_InputObject!) {
 viewer { accounts(filter: {accountTag: $tag}) {
 callsTurnUsageAdaptiveGroups(filter: $filter, limit: 1) { sum { egressBytes } } } } }"""
DAY = {"datetimeMinute_geq": "2025-05-31T00:00:00Z", "datetimeMinute_lt": CLOCK}


@pytest.mark.parametrize("command", [["sandbox", "serve"], ["sandbox", "seed"], ["sandbox"]])
def test_help_has_an_example(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    main([*command, "--help"])
    assert "Example" in capsys.readouterr().out


def test_seed_writes_a_file_that_remembers_its_clock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "usage.sqlite"
    argv = ["sandbox", "seed", "--out", str(out), "--days", "2", "--customers", "5", "--now", CLOCK]
    assert main(argv) == 0
    assert "rows to" in capsys.readouterr().out
    config = SandboxConfig(database=out)
    assert Sandbox(config).config.now == datetime(2025, 6, 1, tzinfo=UTC)


async def test_seeded_file_serves_the_same_rows_as_synthetic(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    out = tmp_path / "usage.sqlite"
    argv = ["sandbox", "seed", "--out", str(out), "--days", "2", "--customers", "5", "--now", CLOCK]
    assert main(argv) == 0
    now = datetime(2025, 6, 1, tzinfo=UTC)
    synthetic = SandboxConfig(token=SECRET, now=now, days=2, customers=5)
    async with (
        Sandbox(SandboxConfig(token=SECRET, database=out)) as from_file,
        Sandbox(synthetic) as in_memory,
    ):
        assert from_file.rows() == in_memory.rows()
        variables = {"tag": from_file.config.account_tag, "filter": DAY}
        from_file_answer = await post(http, from_file, TOTAL, variables)
        assert from_file_answer == await post(http, in_memory, TOTAL, variables)


@pytest.mark.parametrize("suffix", [".csv", ".ndjson"])
async def test_rows_from_csv_and_ndjson(
    tmp_path: Path, http: aiohttp.ClientSession, suffix: str
) -> None:
    records = [
        {"minute": "2025-05-31T10:00:00Z", "keyId": "k1", "customIdentifier": "c1",
         "egress_bytes": 100, "ingressBytes": 5, "concurrent_connections": 2},
        {"minute": "2025-05-31T10:00:30Z", "keyId": "k1", "customIdentifier": "c2",
         "egress_bytes": 23, "ingressBytes": 1, "concurrent_connections": 1},
    ]  # fmt: skip
    path = tmp_path / f"rows{suffix}"
    if suffix == ".csv":
        header = list(records[0])
        lines = [",".join(header)] + [",".join(str(r[k]) for k in header) for r in records]
        path.write_text("\n".join(lines) + "\n")
    else:
        path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    config = SandboxConfig(token=SECRET, database=path, now=datetime(2025, 6, 1, tzinfo=UTC))
    async with Sandbox(config) as sandbox:
        assert [r.minute.minute for r in sandbox.rows()] == [0, 0]
        _, body = await post(http, sandbox, TOTAL, {"tag": config.account_tag, "filter": DAY})
    groups = body["data"]["viewer"]["accounts"][0]["callsTurnUsageAdaptiveGroups"]
    assert groups == [{"sum": {"egressBytes": 123}}]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_serve_runs_a_real_server(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    out = tmp_path / "usage.sqlite"
    argv = ["sandbox", "seed", "--out", str(out), "--days", "2", "--customers", "5", "--now", CLOCK]
    assert main(argv) == 0
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from turnmeter.cli import run; run()",
        "sandbox", "serve", "--port", str(port), "--data", str(out), "--token", SECRET,
        "--fault", "503",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        banner = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        assert f"http://127.0.0.1:{port}/graphql" in banner
        url = f"http://127.0.0.1:{port}/graphql"
        headers = {"Authorization": f"Bearer {SECRET}"}
        payload = {"query": TOTAL, "variables": {"tag": SandboxConfig().account_tag, "filter": DAY}}
        for _ in range(200):  # the banner prints just before the socket is bound
            try:
                async with http.post(url, json=payload, headers=headers) as first:
                    assert first.status == 503  # the scripted --fault
                break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
        async with http.post(url, json=payload, headers=headers) as second:
            body = await second.json()
        assert body["errors"] is None
        assert body["data"]["viewer"]["accounts"][0]["callsTurnUsageAdaptiveGroups"]
    finally:
        process.terminate()
        _, stderr = await process.communicate()
    assert SECRET not in banner + stderr.decode()
