"""The benchmark's side measurements: decode-only costs, import time, memory of a long series.

A helper process that fails raises :class:`StepFailed` naming the command and the end of its
stderr, so that ``python -m bench`` can report it and go on with the other benchmarks.
"""

from __future__ import annotations

import gc
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from bench.server import body_for

ROOT = Path(__file__).resolve().parents[1]
DECODE_ROWS = 10_000
DECODE_RUNS = 15
IMPORT_RUNS = 21
#: How many trailing stderr lines of a failed helper process to keep.
STDERR_TAIL = 8


class StepFailed(Exception):
    """A helper process of a side measurement exited non-zero."""


def _run(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        lines = done.stderr.strip().splitlines()[-STDERR_TAIL:]
        tail = "".join(f"\n    {line}" for line in lines)
        command = " ".join([Path(argv[0]).name, *argv[1:]])
        raise StepFailed(f"`{command}` exited {done.returncode}{tail}")
    return done.stdout


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

    import turnmeter.decode.compiled as decode
    import turnmeter.decode.shapes as shapes
    from turnmeter.decode.documents import check_types, document_facts
    from turnmeter.rows import SeriesPoint

    body = body_for(DECODE_ROWS)
    query = shapes.operation_text("UsageTimeseries")
    plan = document_facts(query, "UsageTimeseries").plan
    fields = ("dimensions.datetimeMinute", "sum.egressBytes")
    decoder = decode.decoder_for(query, "UsageTimeseries", SeriesPoint, fields)
    saved = decode.GC_PAUSE_MIN_ROWS

    def fast(pause: str) -> Callable[[], Any]:
        def run() -> Any:
            decode.GC_PAUSE_MIN_ROWS = 1 if pause == "rows" else sys.maxsize
            if pause != "all":
                return decoder(orjson.loads(body)["data"])
            gc.disable()  # the alternative measured and not taken: pause across parsing too
            try:
                return decoder(orjson.loads(body)["data"])
            finally:
                gc.enable()

        return run

    def from_bytes(pause: bool) -> Callable[[], Any]:
        def run() -> Any:
            decode.GC_PAUSE_MIN_ROWS = 1 if pause else sys.maxsize
            return decoder.decode_body(body)

        return run

    costs = [
        ("json.loads", _per_row(lambda: json.loads(body))),
        ("orjson.loads", _per_row(lambda: orjson.loads(body))),
        (
            "orjson.loads + generic JSON-type walk (documents.check_types, raw callers only)",
            _per_row(lambda: check_types(plan, orjson.loads(body)["data"], "UsageTimeseries")),
        ),
        (
            "orjson.loads + generated pydantic models",
            _per_row(lambda: UsageTimeseries.model_validate(orjson.loads(body)["data"])),
        ),
        ("orjson.loads + fast decoder, GC running", _per_row(fast("none"))),
        (
            "orjson.loads + fast decoder, GC paused while building rows (the default)",
            _per_row(fast("rows")),
        ),
        (
            "orjson.loads + fast decoder, GC paused across parse and rows (not taken)",
            _per_row(fast("all")),
        ),
        ("msgspec from bytes + flatten to rows, GC running", _per_row(from_bytes(False))),
        (
            "msgspec from bytes + flatten to rows, GC paused while flattening (the default)",
            _per_row(from_bytes(True)),
        ),
    ]
    decode.GC_PAUSE_MIN_ROWS = saved
    return costs + memo_costs()


def memo_costs() -> list[tuple[str, float]]:
    """The DSL's tuple decoder with and without the per-response time memo, on two shapes."""
    import turnmeter.decode.compiled as decode
    from turnmeter.query.catalog import lookup
    from turnmeter.query.rows import decoder

    shapes = {
        "minute series (every bucket new)": (("minute", "egress_bytes"), "datetimeMinute", 1),
        "hour x key (each hour 417 times)": (
            ("hour", "key_id", "egress_bytes"),
            "datetimeHour",
            24,
        ),
    }
    costs = []
    real = decode._memoised
    for label, (names, dimension, buckets) in shapes.items():
        fields = tuple(lookup(name) for name in names)
        data = _dsl_body(dimension, buckets)
        for memo in (False, True):
            # Swap the memo rule to build both decoders for the same shape.
            decode._memoised = lambda shape, on=memo: (  # type: ignore[assignment]
                {i for i, leaf in enumerate(shape.leaves) if leaf.scalar == "Time"} if on else set()
            )
            decode._DECODERS.clear()
            try:
                run = decoder(fields)
            finally:
                decode._memoised = real
                decode._DECODERS.clear()
            name = f"DSL tuples, {label}, {'with' if memo else 'no'} time memo"
            costs.append((name, _per_row(lambda run=run, data=data: run(data))))
    return costs


def _dsl_body(dimension: str, buckets: int) -> Any:
    # buckets=1: every group its own minute; otherwise `buckets` hours, each for many keys.
    start = datetime(2025, 11, 1, tzinfo=UTC)
    step = timedelta(minutes=1) if buckets == 1 else timedelta(hours=1)
    groups = [
        {
            "dimensions": {
                dimension: (start + step * (i % buckets if buckets > 1 else i)).strftime("%FT%TZ"),
                "keyId": f"key-{i // buckets}",
            },
            "sum": {"egressBytes": i},
        }
        for i in range(DECODE_ROWS)
    ]
    return {"viewer": {"accounts": [{"callsTurnUsageAdaptiveGroups": groups}]}}


def _wall(argv: list[str], runs: int = IMPORT_RUNS) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        _run(argv)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


#: A bare argparse program: what any argparse CLI pays before its own code runs (the console
#: script pip writes imports ``re`` too).
ARGPARSE_FLOOR = (
    "import re, argparse; p = argparse.ArgumentParser(); p.add_argument('--x'); p.format_help()"
)


def import_times() -> list[tuple[str, float, float]]:
    """(command, median wall ms, ratio to ``python -c pass``), interleaved over fresh
    interpreters. turnmeter is compiled from source each time (this machine sets
    PYTHONDONTWRITEBYTECODE, as a checkout run without bytecode would): the conservative case."""
    python = sys.executable
    cli = str(Path(python).parent / "turnmeter")
    commands: list[tuple[str, list[str]]] = [
        ("python -c pass", [python, "-c", "pass"]),
        ("import turnmeter", [python, "-c", "import turnmeter"]),
        ("from turnmeter import TurnUsage", [python, "-c", "from turnmeter import TurnUsage"]),
        (
            "a bare argparse program (`bench/extras.py` ARGPARSE_FLOOR)",
            [python, "-c", ARGPARSE_FLOOR],
        ),
        ("turnmeter --help", [cli, "--help"]),
    ]
    samples: dict[str, list[float]] = {name: [] for name, _ in commands}
    for _ in range(IMPORT_RUNS):
        for name, argv in commands:
            samples[name].append(_wall(argv, 1))
    base = statistics.median(samples["python -c pass"])
    return [
        (name, statistics.median(v), statistics.median(v) / base) for name, v in samples.items()
    ]


def memory(url: str, rows: int, page: int, hold: bool = False) -> dict[str, Any]:
    """Peak RSS of a fresh process pulling ``rows`` rows through ``timeseries`` in pages."""
    argv = [sys.executable, "-m", "bench.memory", url, str(rows), str(page)]
    argv += ["--hold"] if hold else []
    return json.loads(_run(argv))  # type: ignore[no-any-return]
