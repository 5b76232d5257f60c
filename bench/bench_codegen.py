"""Full dump -> generated/: ``turnmeter generate --from`` vs ariadne-codegen run directly.

Both run as fresh processes in the same run, into scratch copies of the project (the real tree is
never touched), from Cloudflare's 2.8 MB SDL dump, committed gzip-compressed in ``schema/dumps/``.
turnmeter reads the dump as given (``generate --from`` reads ``.gz`` itself); ariadne-codegen
reads only plain SDL, so it gets a copy decompressed once into the scratch directory, outside the
timing. Prints the median of each and the ratio, and whether both produced the same package
(apart from the ``# Source:`` header, which names the schema file each was given). Exits non-zero,
naming the reason on stderr, when the dump is missing or either contender fails.

    .venv/bin/python bench/bench_codegen.py [--runs 3] [--dump PATH]
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DUMP = ROOT / "schema" / "dumps" / "cloudflare-graphql-schema-2025-12-07.graphql.gz"
PROJECT_INPUTS = ("pyproject.toml", "schema", "queries", "src/turnmeter/codegen")
DEFAULT_RUNS = 3
#: The line of pyproject.toml's ariadne-codegen section that the scratch copy repoints.
PRUNED_SCHEMA_PATH = 'schema_path = "schema/cloudflare-turn.graphql"'
BIN = Path(sys.executable).parent
#: The first two bytes of every gzip stream (RFC 1952).
GZIP_MAGIC = b"\x1f\x8b"
#: How many trailing stderr lines of a failed contender to show.
STDERR_TAIL = 8


class BenchFailed(Exception):
    """The benchmark cannot give a number: missing input or a contender that failed."""


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


def plain_dump(dump: Path, scratch: Path) -> Path:
    """The dump as plain SDL: decompressed into ``scratch`` when it is gzip, else itself."""
    if not dump.is_file():
        raise BenchFailed(f"schema dump not found: {dump} (pass --dump PATH)")
    plain = scratch / dump.name.removesuffix(".gz")
    try:
        with dump.open("rb") as file:
            if file.read(2) != GZIP_MAGIC:
                return dump
        with gzip.open(dump, "rb") as packed, plain.open("wb") as out:
            shutil.copyfileobj(packed, out)
    except (OSError, EOFError) as exc:  # BadGzipFile is an OSError; truncation is EOFError
        raise BenchFailed(f"cannot read schema dump {dump}: {exc}") from exc
    return plain


def timed(command: list[str], cwd: Path, label: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        lines = done.stderr.decode(errors="replace").strip().splitlines()[-STDERR_TAIL:]
        tail = "".join(f"\n    {line}" for line in lines)
        raise BenchFailed(f"{label} exited {done.returncode}{tail}")
    return seconds


def run_turnmeter(base: Path, dump: Path, run: int) -> tuple[float, Path]:
    project = scratch_project(base, f"turnmeter-{run}")
    code = (
        "import sys; from turnmeter.schema_tools import generate; "
        "generate(sys.argv[1], from_path=sys.argv[2])"
    )
    # The library entry point, in a fresh interpreter: the same work as `turnmeter generate
    # --from`, without depending on every CLI module being importable.
    command = [sys.executable, "-c", code, str(project), str(dump)]
    seconds = timed(command, cwd=base, label="turnmeter generate --from")
    return seconds, project / "generated" / "cf_analytics"


def run_ariadne(base: Path, dump: Path, run: int) -> tuple[float, Path]:
    project = scratch_project(base, f"ariadne-{run}")
    (project / "generated").mkdir()
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    if PRUNED_SCHEMA_PATH not in text:  # else ariadne-codegen would time the pruned schema
        raise BenchFailed(f"pyproject.toml has no `{PRUNED_SCHEMA_PATH}` to point at the dump")
    pyproject.write_text(
        text.replace(PRUNED_SCHEMA_PATH, f'schema_path = "{dump}"'), encoding="utf-8"
    )
    seconds = timed([str(BIN / "ariadne-codegen")], cwd=project, label="ariadne-codegen")
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


def measure(dump: Path, runs: int) -> tuple[list[float], list[float], bool, int]:
    """Seconds of each run for turnmeter and ariadne-codegen, whether their packages match,
    and the size of the plain SDL both read."""
    ours: list[float] = []
    theirs: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-codegen-") as scratch:
        base = Path(scratch)
        plain = plain_dump(dump, base)
        for run in range(runs):
            seconds, ours_package = run_turnmeter(base, dump, run)
            ours.append(seconds)
            seconds, theirs_package = run_ariadne(base, plain, run)
            theirs.append(seconds)
        return ours, theirs, same_package(ours_package, theirs_package), plain.stat().st_size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--dump", type=Path, default=DEFAULT_DUMP)
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    dump = args.dump.resolve()
    try:
        ours, theirs, identical, size = measure(dump, args.runs)
    except BenchFailed as exc:
        print(f"bench_codegen: {exc}", file=sys.stderr)
        return 1
    ours_median, theirs_median = statistics.median(ours), statistics.median(theirs)
    print(f"dump: {dump.name} ({size / 1e6:.1f} MB of SDL), {args.runs} run(s) each")
    print(f"turnmeter generate --from dump : {ours_median:6.2f} s  (runs: {_list(ours)})")
    print(f"ariadne-codegen on the dump    : {theirs_median:6.2f} s  (runs: {_list(theirs)})")
    print(f"ratio (ariadne / turnmeter)    : {theirs_median / ours_median:6.1f}x")
    print(f"same generated package         : {identical}")
    return 0


def _list(values: list[float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


if __name__ == "__main__":
    sys.exit(main())
