"""Start-up of this tree against an older one, interleaved in one run (for bench/RESULTS.md).

The older tree is a plain export of a commit, imported through PYTHONPATH ahead of this
checkout's editable install:

    git archive 0b8221c | tar -x -C /tmp/base
    .venv/bin/python -m bench.before /tmp/base

``turnmeter --help`` runs as the console script does (``import re``, then ``turnmeter.cli.run``),
from source (no bytecode) in both trees.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 21
HELP = "import re, sys; sys.argv = ['turnmeter', '--help']; from turnmeter.cli import run; run()"


def _env(tree: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join(str(tree / part) for part in ("src", "generated"))
    return env


def main(older: Path) -> list[str]:
    python = sys.executable
    commands = [
        ("python -c pass", [python, "-c", "pass"], _env(None)),
        (f"turnmeter --help, {older}", [python, "-c", HELP], _env(older)),
        ("turnmeter --help, this tree", [python, "-c", HELP], _env(None)),
    ]
    samples: dict[str, list[float]] = {name: [] for name, _, _ in commands}
    for _ in range(RUNS):
        for name, argv, env in commands:
            started = time.perf_counter()
            subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=True)
            samples[name].append(time.perf_counter() - started)
    base = statistics.median(samples["python -c pass"])
    lines = [f"median of {RUNS} interleaved runs", ""]
    for name, values in samples.items():
        median = statistics.median(values)
        lines.append(f"{name:<45} {median * 1e3:6.1f} ms  {median / base:5.2f}x")
    return lines


if __name__ == "__main__":
    print("\n".join(main(Path(sys.argv[1]))))
