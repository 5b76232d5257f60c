"""The benchmark's side measurements: decode-only costs, import time, memory of a long series.

A helper process that fails raises :class:`StepFailed` naming the command and the end of its
stderr, so that ``python -m bench`` can report it and go on with the other benchmarks.
"""

from __future__ import annotations

import gc
import json
import os
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
IMPORT_RUNS = 21
#: How many trailing stderr lines of a failed helper process to keep.
STDERR_TAIL = 8


class StepFailed(Exception):
    """A helper process of a side measurement exited non-zero."""


def _run(argv: list[str], env: dict[str, str] | None = None) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env)
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
    from cf_analytics import row_decoding
    from cf_analytics.usage_rows import USAGE_TIMESERIES_DECODER
    from cf_analytics.usage_timeseries import UsageTimeseries

    from bench.contenders import LIMIT, WIDE_LIMIT, MsgspecStructs
    from bench.server import WIDE_FIELDS, wide_body_for
    from turnmeter.query.catalog import lookup
    from turnmeter.query.rows import decoder as dsl_decoder

    body, wide = body_for(DECODE_ROWS), wide_body_for(DECODE_ROWS)
    limit, wide_limit = MsgspecStructs(LIMIT).decoder, MsgspecStructs(WIDE_LIMIT, True).decoder
    dsl = dsl_decoder(tuple(lookup(name) for name, _, _ in WIDE_FIELDS))
    decoder = USAGE_TIMESERIES_DECODER
    saved = row_decoding.GC_PAUSE_MIN_ROWS

    def generated(pause: bool) -> Callable[[], Any]:
        def run() -> Any:
            row_decoding.GC_PAUSE_MIN_ROWS = 1 if pause else sys.maxsize
            return decoder.decode_body(body)

        return run

    costs = [
        ("json.loads", _per_row(lambda: json.loads(body))),
        ("orjson.loads", _per_row(lambda: orjson.loads(body))),
        (
            "msgspec typed structs, 2 fields (the practical limit)",
            _per_row(lambda: limit.decode(body)),
        ),
        (
            "orjson.loads + generated pydantic models",
            _per_row(lambda: UsageTimeseries.model_validate(orjson.loads(body)["data"])),
        ),
        ("generated decoder from bytes, GC running", _per_row(generated(False))),
        ("generated decoder from bytes, GC paused (the default)", _per_row(generated(True))),
        (
            "orjson.loads + the strict walk (the path of refused bodies)",
            _per_row(lambda: decoder(orjson.loads(body)["data"])),
        ),
        ("msgspec typed structs, 5 fields", _per_row(lambda: wide_limit.decode(wide))),
        ("DSL decoder from bytes, 5 fields, its rows", _per_row(lambda: dsl.decode_body(wide))),
    ]
    row_decoding.GC_PAUSE_MIN_ROWS = saved
    return costs


def _wall(argv: list[str], runs: int = IMPORT_RUNS) -> float:
    # Bytecode is written and reused, as in any installed environment (this machine's shell
    # sets PYTHONDONTWRITEBYTECODE, which would measure compiling instead of importing).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    _run(argv, env)  # the warm-up writes the bytecode
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        _run(argv, env)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


#: A bare argparse program: what any argparse CLI pays before its own code runs (the console
#: script pip writes imports ``re`` too). ``turnmeter --help`` imports no argparse
#: (``turnmeter.cli.plain_help``), so it can start in less.
ARGPARSE_FLOOR = (
    "import re, argparse; p = argparse.ArgumentParser(); p.add_argument('--x'); p.format_help()"
)
#: What the console script pip writes imports before turnmeter's code runs: ``turnmeter
#: --help``'s floor.
CONSOLE_SCRIPT_FLOOR = "import re, sys"


def import_times() -> list[tuple[str, float, float]]:
    """(command, median wall ms, ratio to ``python -c pass``), interleaved over fresh
    interpreters, with bytecode written and reused as in an installed environment (``_wall``)."""
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
        (
            "the console script's own imports (`bench/extras.py` CONSOLE_SCRIPT_FLOOR)",
            [python, "-c", CONSOLE_SCRIPT_FLOOR],
        ),
        ("turnmeter --help", [cli, "--help"]),
        ("python -m turnmeter --help", [python, "-m", "turnmeter", "--help"]),
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
