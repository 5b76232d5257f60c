"""Full dump -> generated/: ``turnmeter generate --from`` vs ariadne-codegen run directly.

Both run as fresh processes in the same run, into scratch copies of the project (the real tree is
never touched), from Cloudflare's 2.8 MB SDL dump. Prints the median of each and the ratio, and
whether both produced the same package (apart from the ``# Source:`` header, which names the
schema file each was given).

    .venv/bin/python bench/bench_codegen.py [--runs 3] [--dump PATH]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DUMP = ROOT.parent / "shared" / "data" / "cloudflare-graphql-schema-2025-12-07.graphql"
PROJECT_INPUTS = ("pyproject.toml", "schema", "queries", "src/turnmeter/codegen")
DEFAULT_RUNS = 3
BIN = Path(sys.executable).parent


def scratch_project(base: Path, name: str) -> Path:
    """A copy of the project's codegen inputs, with no generated/ yet."""
    project = base / name
    for item in PROJECT_INPUTS:
        source, target = ROOT / item, project / item
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    return project


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def run_turnmeter(base: Path, dump: Path, run: int) -> tuple[float, Path]:
    project = scratch_project(base, f"turnmeter-{run}")
    code = (
        "import sys; from turnmeter.schema_tools import generate; "
        "generate(sys.argv[1], from_path=sys.argv[2])"
    )
    # The library entry point, in a fresh interpreter: the same work as `turnmeter generate
    # --from`, without depending on every CLI module being importable.
    seconds = timed([sys.executable, "-c", code, str(project), str(dump)], cwd=base)
    return seconds, project / "generated" / "cf_analytics"


def run_ariadne(base: Path, dump: Path, run: int) -> tuple[float, Path]:
    project = scratch_project(base, f"ariadne-{run}")
    (project / "generated").mkdir()
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(
        text.replace('schema_path = "schema/cloudflare-turn.graphql"', f'schema_path = "{dump}"'),
        encoding="utf-8",
    )
    seconds = timed([str(BIN / "ariadne-codegen")], cwd=project)
    return seconds, project / "generated" / "cf_analytics"


def same_package(first: Path, second: Path) -> bool:
    """Byte-equal apart from ``# Source:`` header lines."""
    names = sorted(p.name for p in first.glob("*.py"))
    if names != sorted(p.name for p in second.glob("*.py")):
        return False
    for name in names:
        strip = [
            [
                line
                for line in (d / name).read_text().splitlines()
                if not line.startswith("# Source:")
            ]
            for d in (first, second)
        ]
        if strip[0] != strip[1]:
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--dump", type=Path, default=DEFAULT_DUMP)
    args = parser.parse_args()
    dump = args.dump.resolve()
    ours: list[float] = []
    theirs: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-codegen-") as scratch:
        base = Path(scratch)
        for run in range(args.runs):
            seconds, ours_package = run_turnmeter(base, dump, run)
            ours.append(seconds)
            seconds, theirs_package = run_ariadne(base, dump, run)
            theirs.append(seconds)
        identical = same_package(ours_package, theirs_package)
    ours_median, theirs_median = statistics.median(ours), statistics.median(theirs)
    print(f"dump: {dump.name} ({dump.stat().st_size / 1e6:.1f} MB), {args.runs} run(s) each")
    print(f"turnmeter generate --from dump : {ours_median:6.2f} s  (runs: {_list(ours)})")
    print(f"ariadne-codegen on the dump    : {theirs_median:6.2f} s  (runs: {_list(theirs)})")
    print(f"ratio (ariadne / turnmeter)    : {theirs_median / ours_median:6.1f}x")
    print(f"same generated package         : {identical}")


def _list(values: list[float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


if __name__ == "__main__":
    main()
