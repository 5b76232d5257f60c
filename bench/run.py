"""Run every benchmark in one process and print the results as Markdown on stdout.

    .venv/bin/python -m bench                   # the whole suite, about two minutes
    .venv/bin/python -m bench --quick           # fewer rounds, smaller data: a harness check
    .venv/bin/python -m bench --extras          # also codegen, sandbox, windows, stream benches
    .venv/bin/python -m bench --extras --write  # and save the Markdown as bench/RESULTS.md

Nothing is written to the tree unless ``--write`` is given (it combines with ``--quick`` and
``--extras``). One server process answers every contender with the same prepared bytes; the
contenders run interleaved in this process; the tables show medians and ratios to the floor
(aiohttp + ``json.loads``) measured in the same run. Nothing here is a test: no number is
asserted. A side or extra benchmark that fails or cannot find its input is named on stderr, its
section says so, the others still run, and the exit status is 1 (and ``--write`` writes nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib.metadata
import json
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import extras, one_row
from bench.contenders import (
    BURST_IN_FLIGHT,
    DEFAULT_CLIENT,
    DSL,
    FAST,
    FLOOR,
    GENERATED,
    GQL_TYPED,
    HTTPX,
    LIMIT,
    SLOW,
    WIDE_FLOOR,
    WIDE_LIMIT,
    Contender,
    all_contenders,
    generate_httpx_client,
)
from bench.timing import Counter, Timings, concurrent, sequential

ROOT = Path(__file__).resolve().parents[1]
#: Contenders measured against the five-field floor.
WIDE = frozenset({WIDE_FLOOR, WIDE_LIMIT, DSL})
RESULTS = ROOT / "bench" / "RESULTS.md"
BIG, PAGE, ONE = 10_000, 100, 1
BURST_TOTAL = 200
MEMORY_ROWS, MEMORY_PAGE = 1_000_000, 10_000
#: (rounds, requests per round) for each row count; --quick divides the rounds.
PLAN = {BIG: (11, 1), PAGE: (9, 10), ONE: (21, 40)}
BURST_ROUNDS = 9
#: The 1-row goals' own block (bench/one_row.py, a fresh interpreter): its contenders.
FOCUS = (FLOOR, LIMIT, FAST, DEFAULT_CLIENT, GENERATED, WIDE_FLOOR, DSL)
PACKAGES = ("aiohttp", "orjson", "pydantic", "pydantic-core", "gql", "graphql-core", "httpx")
PACKAGES += ("ariadne-codegen", "msgspec")
#: The extra benches (bench/<script>): arguments for a full run, and for --quick.
EXTRAS: tuple[tuple[str, list[str], list[str]], ...] = (
    ("bench_codegen.py", ["--runs", "1"], ["--runs", "1"]),
    ("bench_scaling.py", [], ["--quick"]),
    ("bench_sandbox.py", [], ["--customers", "200", "--repeat", "3", "--load-rounds", "3"]),
    ("bench_windows.py", ["--runs", "1"], ["--runs", "1"]),
    ("bench_stream_memory.py", [], ["--rows", "100000"]),
    ("bench_credentials.py", [], ["--rounds", "3", "--calls", "50"]),
    (
        "bench_exporter.py",
        [],
        ["--customers", "500", "--hours", "2", "--polls", "5", "--scrapes", "50"],
    ),
    ("bench_ledger.py", [], ["--customers", "50", "--days", "14"]),
    ("bench_budget_stores.py", [], ["--acquires", "300"]),
)
#: How many trailing stderr lines of a failed extra bench to show.
STDERR_TAIL = 8


def start_server(sizes: Sequence[int] = ()) -> tuple[subprocess.Popen[str], str]:
    """The prepared-answers server in its own process (``sizes``: its prepared row counts),
    and its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.server", *map(str, sizes)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline().split()[1])
    return proc, f"http://127.0.0.1:{port}/graphql"


async def measure(contenders: Sequence[Contender], quick: bool) -> dict[str, Timings]:
    counter = Counter()
    for contender in contenders:  # warm up: connections, caches, compiled decoders
        for rows in PLAN:
            got = await contender.fetch(rows, counter.next())
            assert len(got) == rows, f"{contender.name} returned {len(got)} rows, not {rows}"
    results = {}
    for rows, (rounds, reps) in PLAN.items():
        rounds = max(2, rounds // 3) if quick else rounds
        print(f"  {rows} rows: {rounds} rounds x {reps} requests", file=sys.stderr)
        results[f"seq{rows}"] = await sequential(contenders, rows, rounds, reps, counter)
    rounds = 2 if quick else BURST_ROUNDS
    print(f"  concurrency: {rounds} rounds of {BURST_TOTAL} requests", file=sys.stderr)
    results["burst"] = await concurrent(
        contenders, PAGE, rounds, BURST_TOTAL, BURST_IN_FLIGHT, counter
    )
    return results


def _floor_of(name: str) -> str:
    return WIDE_FLOOR if name in WIDE else FLOOR


def main_table(names: list[str], results: dict[str, Timings]) -> list[str]:
    big, one, page, burst = (results[k] for k in (f"seq{BIG}", f"seq{ONE}", f"seq{PAGE}", "burst"))
    lines = [
        f"| client | per row ({BIG:,} rows) | x floor | per request (1 row) | x floor "
        f"| {PAGE} rows | {BURST_TOTAL} requests, {BURST_IN_FLIGHT} in flight | x floor |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in names:
        floor = _floor_of(name)
        row_us = big.median(name) / BIG * 1e6
        lines.append(
            f"| {name} | {row_us:.2f} us | {big.median(name) / big.median(floor):.2f} "
            f"| {one.median(name) * 1e3:.3f} ms | {one.median(name) / one.median(floor):.2f} "
            f"| {page.median(name) * 1e3:.2f} ms | {burst.median(name) * 1e3:.0f} ms "
            f"| {burst.median(name) / burst.median(floor):.2f} |"
        )
    return lines


def one_row_block(quick: bool) -> Timings:
    """bench/one_row.py in a fresh interpreter: the block the 1-row goals read."""
    rounds, reps = one_row.PLAN
    rounds = max(2, rounds // 3) if quick else rounds
    print(f"  1 row, turnmeter and its floors alone: {rounds} rounds x {reps}", file=sys.stderr)
    done = subprocess.run(
        [sys.executable, "-m", "bench.one_row", str(rounds), str(reps)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return Timings(json.loads(done.stdout))


def focus_table(results: dict[str, Timings]) -> list[str]:
    """The one-row block of turnmeter and its floors alone (what the 1-row goals read)."""
    rounds, reps = len(results["focus"].samples[FLOOR]), one_row.PLAN[1]
    lines = [
        f"## One-row requests: turnmeter and its floors alone ({rounds} rounds x {reps})",
        "",
        "`python -m bench.one_row`: a fresh interpreter loading only these clients, with its "
        "own server.",
        "",
        "| client | per request | x floor |",
        "|---|---:|---:|",
    ]
    focus = results["focus"]
    for name in FOCUS:
        seconds = focus.median(name)
        lines.append(
            f"| {name} | {seconds * 1e3:.3f} ms | {seconds / focus.median(_floor_of(name)):.2f} |"
        )
    return lines


def goals_table(results: dict[str, Timings], startup: dict[str, float] | None) -> list[str]:
    big, one, burst = results[f"seq{BIG}"], results["focus"], results["burst"]

    def ratio(timings: Timings, name: str, base: str) -> float:
        return timings.median(name) / timings.median(base)

    goals = [
        ("seed method per row vs the floor", "<= 0.8x", ratio(big, FAST, FLOOR), False),
        ("seed method per row vs msgspec typed structs", "<= 1.5x", ratio(big, FAST, LIMIT), False),
        (
            "DSL `query()` per row vs its floor (5 fields)",
            "<= 0.8x",
            ratio(big, DSL, WIDE_FLOOR),
            False,
        ),
        ("seed method, 1-row request vs the floor", "<= 1.1x", ratio(one, FAST, FLOOR), False),
        (
            "default client (rate budget on), 1-row request vs the floor",
            "<= 1.1x",
            ratio(one, DEFAULT_CLIENT, FLOOR),
            False,
        ),
        (
            "seed method, 200 requests 20 in flight vs the floor",
            "<= 1.2x",
            ratio(burst, FAST, FLOOR),
            False,
        ),
        (
            "ariadne models (aiohttp base) / seed method, per row",
            ">= 5x",
            ratio(big, SLOW, FAST),
            True,
        ),
        (
            "ariadne default httpx client / seed method, per row",
            ">= 5x",
            ratio(big, HTTPX, FAST),
            True,
        ),
        ("gql typed parsing / seed method, per row", ">= 60x", ratio(big, GQL_TYPED, FAST), True),
    ]
    if startup:
        base = startup["python -c pass"]
        goals.append(
            (
                "`from turnmeter import TurnUsage` vs `python -c pass`",
                "<= 5x",
                startup["from turnmeter import TurnUsage"] / base,
                False,
            )
        )
        goals.append(
            (
                "`turnmeter --help` vs `python -c pass`",
                "<= 2x",
                startup["turnmeter --help"] / base,
                False,
            )
        )
    lines = ["| goal | target | measured | met |", "|---|---:|---:|---|"]
    for label, target, value, at_least in goals:
        bound = float(target.split()[1].rstrip("x"))
        met = value >= bound if at_least else value <= bound
        lines.append(f"| {label} | {target} | {value:.2f}x | {'yes' if met else '**no**'} |")
    return lines


NOTES = f"""\
Notes: one server process serves prepared bytes; the contenders above the five-field floor send
the generated `UsageTimeseries` operation (minute, egress) with distinct variables per request,
the last three the DSL's five-field `TurnUsageQuery` (minute, key, datacenter, egress, ingress),
whose "x floor" columns are against the five-field floor. "Per row" is the 10,000-row request
time / 10,000. turnmeter runs with `max_concurrency={BURST_IN_FLIGHT}` (the load of the
concurrency test; the default cap is 8) and no client-side rate budget, except the "default
client" row, whose rate budget runs on every request with a limit no run reaches (Cloudflare's
300 per 5 minutes would stop the benchmark). The seed method
(`TurnUsage.timeseries`) makes one call of the generated method
(`turn.operations.usage_timeseries`), which passes its generation-time decoder to the
transport; "without the transport pipeline" feeds the same decoder from `transport.post`
(no single-flight, cache, cap, budget or retry).
msgspec typed structs are what a hand-written client for one shape can do: `Time` parsed by
msgspec in C, no checks beyond msgspec's own, nested structs instead of flat rows.
The 1-row goals read the block "turnmeter and its floors alone" (`bench/one_row.py`): the same
requests from a fresh interpreter that loads only those clients. In the main table's process,
which also runs gql's schema validation and the httpx client, every 1-row median is slower and
uneven: the untyped orjson client measured 0.95x to 1.26x the floor there between runs.
"""


ANALYSIS = """\
## Where the time goes (the decode table below, same run)

- **Seed methods.** msgspec decodes the body into small `Struct` objects in C (strict ints and
  int64 bounds, strings, non-null objects, `Time` as an aware datetime; unselected fields
  skipped). What turnmeter adds over the msgspec limit: the public rows (frozen msgspec
  Structs, built in C) made by one list comprehension per operation, written by the generator
  (`[SeriesPoint(g.dimensions.datetimeMinute, g.sum.egressBytes) for g in groups]`: the
  interpreter's specialised slot reads; the DSL compiles one per query shape); for
  `timeseries()` at 10,000 rows, the keyset check of the page (one `attrgetter` pass and one C
  comparison pass). The benchmark's range is the server's
  10,000 minutes, so a full page that reaches the range's last minute is known to be the last;
  the "range a minute longer" row is the same call when the range could hold one more minute,
  paying the one-row request that proves nothing follows. Any other body (a wrong value,
  `errors`) takes the strict walk, which classifies it or names the bad field, with the same
  `Time` parser (tests/decode holds both ways equal).
- **The DSL.** The same decoder, straight into the query's row Structs; windows whose groups
  are whole are kept as they came, and a one-window top N is final as the server ordered it
  (the query's total order, tie-breakers included, is what it asks for).
- **Per request.** Single-flight runs the request inline in the caller's task (no task, no
  future), the concurrency cap and the in-process rate budget grant without awaiting, and
  attempt 1 runs outside the retry loop; `python -m bench.hops` counts the event-loop iterations
  and tasks per request.
"""


def header(argv: Sequence[str]) -> list[str]:
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in PACKAGES)
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor() or "unknown CPU",
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    return [
        "# turnmeter benchmark results",
        "",
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {cpu}, {_cpus()} CPUs, {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; {versions}",
        f"- command: `{' '.join(['python -m bench', *(a for a in argv if a != '--write')])}`",
        "",
    ]


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


def failed(failures: list[str], bench: str, why: str) -> list[str]:
    """Record and announce a bench that gave no numbers; the lines its section shows instead."""
    failures.append(bench)
    print(f"bench: {bench} FAILED: {why}", file=sys.stderr)
    return [f"**Not measured**: `{bench}` failed ({why.splitlines()[0]}); see stderr."]


def guarded(failures: list[str], bench: str, section: Callable[[], list[str]]) -> list[str]:
    """``section()``, or a failure note if it raises: one bench failing does not stop the rest."""
    try:
        return section()
    except Exception as exc:
        return failed(failures, bench, f"{type(exc).__name__}: {exc}")


def decode_section() -> list[str]:
    lines = ["| step | per row |", "|---|---:|"]
    return lines + [f"| {name} | {us:.2f} us |" for name, us in extras.decode_costs()]


def startup_section(times: dict[str, float]) -> list[str]:
    base = times["python -c pass"]
    lines = ["| command | time | x `python -c pass` |", "|---|---:|---:|"]
    return lines + [f"| `{name}` | {ms:.0f} ms | {ms / base:.2f} |" for name, ms in times.items()]


def memory_section(url: str) -> list[str]:
    lines = ["| mode | rows | peak RSS after page 1 | peak RSS at the end | time |"]
    lines += ["|---|---:|---:|---:|---:|"]
    for mode, hold in (("folded page by page", False), ("all rows kept in a list", True)):
        m = extras.memory(url, MEMORY_ROWS, MEMORY_PAGE, hold)
        lines.append(
            f"| {mode} | {m['rows']:,} | {m['peak_rss_after_first_page_mb']} MB "
            f"| {m['peak_rss_mb']} MB | {m['seconds']} s |"
        )
    return lines


def side_sections(url: str, failures: list[str], startup: dict[str, float] | None) -> list[str]:
    lines = ["## Decoding alone (10,000 rows, fresh body each run, no HTTP)", ""]
    lines += guarded(failures, "extras.decode_costs", decode_section)
    lines += ["", "## Start-up (fresh interpreter, median wall time)", ""]
    if startup is None:
        lines += failed(failures, "extras.import_times", "see above")
    else:
        lines += startup_section(startup)
    lines += ["", f"## Memory: {MEMORY_ROWS:,} rows in pages of {MEMORY_PAGE:,}", ""]
    lines += guarded(failures, "extras.memory", lambda: memory_section(url))
    return lines


def extra_benches(quick: bool, failures: list[str]) -> list[str]:
    lines = []
    for script, full, brief in EXTRAS:
        args = brief if quick else full
        label = " ".join([script, *args])
        print(f"{label} ...", file=sys.stderr)
        argv = [sys.executable, str(ROOT / "bench" / script), *args]
        done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
        out = done.stdout.strip()
        lines += ["", f"## {label}", "", *(["```", out, "```"] if out else [])]
        if done.returncode:
            tail = done.stderr.strip().splitlines()[-STDERR_TAIL:] or ["(no stderr)"]
            why = f"exit status {done.returncode}" + "".join(f"\n    {line}" for line in tail)
            lines += ["", *failed(failures, script, why)] if out else failed(failures, script, why)
        elif not out:
            lines += failed(failures, script, "exited 0 but printed nothing")
    return lines


async def run(argv: Sequence[str], quick: bool, extras_too: bool) -> tuple[str, list[str]]:
    """The results as Markdown, and the names of the benches that failed."""
    failures: list[str] = []
    server, url = start_server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            print("generating ariadne-codegen's default client ...", file=sys.stderr)
            contenders = all_contenders(generate_httpx_client(Path(tmp)))
            for contender in contenders:
                await contender.setup(url)
            try:
                results = await measure(contenders, quick)
                results["focus"] = one_row_block(quick)
            finally:
                for contender in contenders:
                    await contender.close()
        names = [c.name for c in contenders]
        print("decode, start-up and memory ...", file=sys.stderr)
        lines = [*header(argv), "## Typed rows over loopback HTTP (medians of interleaved rounds)"]
        try:
            startup: dict[str, float] | None = {name: ms for name, ms, _ in extras.import_times()}
        except Exception as exc:
            print(f"bench: extras.import_times FAILED: {exc}", file=sys.stderr)
            startup = None
        lines += ["", *main_table(names, results), "", *focus_table(results), ""]
        lines += ["## Goals (issues 12 and 14)", ""]
        lines += [*goals_table(results, startup), "", NOTES, ANALYSIS]
        lines += side_sections(url, failures, startup)
        if extras_too:
            lines += extra_benches(quick, failures)
        return "\n".join(lines) + "\n", failures
    finally:
        server.kill()
        server.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the suite, print the Markdown; save it only with ``--write``.

    Returns 1 when any bench failed (and then writes nothing), else 0."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (harness check)")
    parser.add_argument(
        "--extras", action="store_true", help="also the codegen, sandbox, windows, stream benches"
    )
    parser.add_argument(
        "--write", action="store_true", help=f"save the results as bench/{RESULTS.name}"
    )
    args = parser.parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    text, failures = asyncio.run(run(argv, args.quick, args.extras))
    print(text)
    if failures:
        print(f"bench: {len(failures)} failed: {', '.join(failures)}", file=sys.stderr)
        if args.write:
            print(f"bench: bench/{RESULTS.name} not written", file=sys.stderr)
        return 1
    if args.write:
        RESULTS.write_text(text, encoding="utf-8")
        print(f"bench: wrote bench/{RESULTS.name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
