"""The benchmark's side measurements: decode-only costs, import time, memory of a long series."""

from __future__ import annotations

import gc
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bench.server import body_for

ROOT = Path(__file__).resolve().parents[1]
DECODE_ROWS = 10_000
DECODE_RUNS = 15
IMPORT_RUNS = 9


def _per_row(fn: Callable[[], Any], rows: int = DECODE_ROWS, runs: int = DECODE_RUNS) -> float:
    times = []
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) / rows * 1e6


def decode_costs() -> list[tuple[str, float]]:
    """Microseconds per row of each decoding step alone, on a fresh 10,000-row body each run."""
    from cf_analytics.usage_timeseries import UsageTimeseries

    import turnmeter.decode as decode
    from turnmeter.documents import check_types, document_facts
    from turnmeter.rows import SeriesPoint

    body = body_for(DECODE_ROWS)
    query = decode.operation_text("UsageTimeseries")
    plan = document_facts(query, "UsageTimeseries").plan
    fields = ("dimensions.datetimeMinute", "sum.egressBytes")
    decoder = decode.decoder_for(query, "UsageTimeseries", SeriesPoint, fields)

    def fast(pause: bool) -> Callable[[], Any]:
        def run() -> Any:
            decode.GC_PAUSE_MIN_ROWS = 1 if pause else sys.maxsize
            return decoder(orjson.loads(body)["data"])

        return run

    costs = [
        ("json.loads", _per_row(lambda: json.loads(body))),
        ("orjson.loads", _per_row(lambda: orjson.loads(body))),
        (
            "orjson.loads + transport's JSON-type walk (documents.check_types)",
            _per_row(lambda: check_types(plan, orjson.loads(body)["data"], "UsageTimeseries")),
        ),
        (
            "orjson.loads + generated pydantic models",
            _per_row(lambda: UsageTimeseries.model_validate(orjson.loads(body)["data"])),
        ),
        ("orjson.loads + fast decoder, GC running", _per_row(fast(pause=False))),
        ("orjson.loads + fast decoder, GC paused while decoding", _per_row(fast(pause=True))),
    ]
    decode.GC_PAUSE_MIN_ROWS = 1_000
    return costs


def _wall(argv: list[str], runs: int = IMPORT_RUNS) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def import_times() -> list[tuple[str, float]]:
    """Median wall milliseconds of fresh interpreters doing each thing."""
    python = sys.executable
    cli = str(Path(python).parent / "turnmeter")
    return [
        ("python -c pass", _wall([python, "-c", "pass"])),
        ("import turnmeter", _wall([python, "-c", "import turnmeter"])),
        (
            "from turnmeter import TurnUsage",
            _wall([python, "-c", "from turnmeter import TurnUsage"]),
        ),
        ("turnmeter --help", _wall([cli, "--help"])),
    ]


def memory(url: str, rows: int, page: int, hold: bool = False) -> dict[str, Any]:
    """Peak RSS of a fresh process pulling ``rows`` rows through ``timeseries`` in pages."""
    argv = [sys.executable, "-m", "bench.memory", url, str(rows), str(page)]
    argv += ["--hold"] if hold else []
    out = subprocess.run(argv, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(out)  # type: ignore[no-any-return]
