"""``turnmeter schema prune|pull|diff|validate`` and ``turnmeter generate [--check]``.

Handlers import the schema tools (graphql-core, aiohttp, ariadne-codegen) only when they run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from turnmeter.cli.exit_codes import ExitCode
from turnmeter.cli.options import add_command

if TYPE_CHECKING:
    from turnmeter.schema_tools.store import PruneResult


def register(subparsers: Any) -> None:
    """Add ``schema`` (with its subcommands) and ``generate``."""
    schema = add_command(
        subparsers,
        "schema",
        "Keep schema/ in step with Cloudflare: pull -> diff -> generate -> test.",
        "Example: turnmeter schema pull --cache-only && turnmeter schema diff "
        "schema/cloudflare-turn.graphql .turnmeter-cache/api.cloudflare.com.introspection.json",
    )
    commands = schema.add_subparsers(dest="schema_command", metavar="SUBCOMMAND")
    _register_prune(commands)
    _register_pull(commands)
    _register_diff(commands)
    _register_validate(commands)
    schema.set_defaults(handler=lambda _args: _help(schema))
    _register_generate(subparsers)


#: The ``schema`` subcommands' help line and epilog, in the order ``schema --help`` lists them.
_SUBCOMMANDS = {
    "prune": (
        "prune a full schema (SDL or introspection JSON) into schema/",
        "Example: turnmeter schema prune --from cloudflare-schema.graphql",
    ),
    "pull": (
        "introspect an endpoint (Cloudflare's, or a sandbox's), cache it, prune into schema/",
        "Examples: turnmeter schema pull (CLOUDFLARE_API_TOKEN set);  "
        "turnmeter schema pull http://127.0.0.1:8787/graphql;  "
        "turnmeter schema pull --from dump.graphql",
    ),
    "diff": (
        "impact of a schema change on queries/ (exit 0 none, 1 breaking, 3 codegen changes)",
        "Example: turnmeter schema diff schema/cloudflare-turn.graphql new-dump.json --json",
    ),
    "validate": (
        "validate queries/*.graphql against schema/ (file:line:column messages)",
        "Example: turnmeter schema validate --queries my-queries/",
    ),
}


def _subcommand(
    commands: Any, name: str, handler: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    """Add the ``schema`` subcommand ``name`` (help and epilog from :data:`_SUBCOMMANDS`)."""
    help_, epilog = _SUBCOMMANDS[name]
    return _runs_in_project(commands.add_parser(name, help=help_, epilog=epilog), handler)


def _runs_in_project(
    parser: argparse.ArgumentParser, handler: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    """``parser`` running ``handler``, with the ``--project`` every schema command takes."""
    parser.add_argument(
        "--project",
        type=Path,
        metavar="DIR",
        help="project root holding pyproject.toml (default: around the cwd, else turnmeter's own)",
    )
    parser.set_defaults(handler=handler)
    return parser


def _out_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="output directory (default schema/)"
    )


def _queries_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--queries", type=Path, metavar="DIR", help="default: the project's")


def _register_prune(commands: Any) -> None:
    parser = _subcommand(commands, "prune", _prune)
    parser.add_argument("--from", dest="source", type=Path, required=True, metavar="PATH")
    _out_option(parser)


def _register_pull(commands: Any) -> None:
    parser = _subcommand(commands, "pull", _pull)
    parser.add_argument("url", nargs="?", help="GraphQL endpoint (default: Cloudflare's)")
    parser.add_argument("--sandbox-url", dest="sandbox_url", metavar="URL", help="same as URL")
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        metavar="FILE",
        help="read a dump (SDL or JSON) instead of introspecting",
    )
    parser.add_argument(
        "--token-env",
        metavar="NAME",
        help="env variable with a Bearer token (Cloudflare's URL: CLOUDFLARE_API_TOKEN)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        metavar="DIR",
        help="where the full introspection JSON goes (default .turnmeter-cache/)",
    )
    parser.add_argument(
        "--cache-only",
        action="store_true",
        help="only fetch into the cache; leave schema/ alone (then run diff)",
    )
    _out_option(parser)
    parser.add_argument("--timeout", type=float, metavar="SECONDS")
    parser.add_argument("--attempts", type=int, metavar="N")


def _register_diff(commands: Any) -> None:
    parser = _subcommand(commands, "diff", _diff)
    parser.add_argument("old", type=Path, help="old schema: SDL or JSON, full or pruned")
    parser.add_argument("new", type=Path, help="new schema: SDL or JSON, full or pruned")
    parser.add_argument("--json", action="store_true", help="machine-readable report")
    _queries_option(parser)


def _register_validate(commands: Any) -> None:
    parser = _subcommand(commands, "validate", _validate)
    parser.add_argument("--schema", type=Path, metavar="PATH", help="default: the project's")
    _queries_option(parser)


def _register_generate(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "generate",
        "Validates queries/, runs ariadne-codegen in-process and replaces generated/. "
        "--check regenerates into a temporary folder and fails if generated/ differs.",
        "Examples: turnmeter generate --from dump.graphql;  turnmeter generate --check",
    )
    _runs_in_project(parser, _generate)
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 when stale")
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        metavar="PATH",
        help="prune this full schema first (with --check: in memory only)",
    )


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return ExitCode.USAGE


def _prune_source(args: argparse.Namespace) -> PruneResult:
    """Prune ``--from`` into ``--out`` (default: the project's schema/)."""
    from turnmeter.schema_tools.project import load_project
    from turnmeter.schema_tools.store import prune_file

    return prune_file(args.source, args.out or load_project(args.project).schema_dir)


def _prune(args: argparse.Namespace) -> int:
    result = _prune_source(args)
    digest = result.provenance.sha256[:12]
    print(f"wrote {result.schema_file} and {result.provenance_file} (input sha256 {digest})")
    return ExitCode.OK


def _pull(args: argparse.Namespace) -> int:
    import asyncio

    from turnmeter.schema_tools.introspect import DEFAULT_URL, pull
    from turnmeter.schema_tools.project import load_project

    if args.source is not None:
        result = _prune_source(args)
        print(f"wrote {result.schema_file} from {args.source}")
        return ExitCode.OK
    url = args.url or args.sandbox_url or DEFAULT_URL
    options: dict[str, Any] = {}
    if args.timeout is not None:
        options["request_timeout"] = args.timeout
    if args.attempts is not None:
        options["attempts"] = args.attempts
    project = None if args.cache_dir and args.out else load_project(args.project)
    pulled = asyncio.run(
        pull(
            url,
            token_env=args.token_env,
            out_dir=args.out or (project.schema_dir if project else None),
            cache_dir=args.cache_dir or (project.cache_dir if project else None),
            prune=not args.cache_only,
            **options,
        )
    )
    print(f"pulled {pulled.url} in {pulled.attempts} attempt(s) -> {pulled.cache_file}")
    if pulled.pruned is not None:
        print(f"wrote {pulled.pruned.schema_file} and {pulled.pruned.provenance_file}")
    return ExitCode.OK


def _diff(args: argparse.Namespace) -> int:
    import json

    from turnmeter.cli.exit_codes import exit_code_for
    from turnmeter.errors import ConfigError, QueryError, SchemaError
    from turnmeter.schema_tools.diff import diff_schemas

    for path in (args.old, args.new):
        if not path.is_file():
            print(f"turnmeter schema diff: no such file: {path}", file=sys.stderr)
            return ExitCode.USAGE
    try:
        report = diff_schemas(args.old, args.new, project=args.project, queries_dir=args.queries)
    except (SchemaError, ConfigError, QueryError) as exc:
        # CI reads 1 and 3 as verdicts; an unreadable input must not look like one, so it
        # gets its family's code (10 for schema input), as every other command does.
        print(f"turnmeter schema diff: {exc}", file=sys.stderr)
        return exit_code_for(exc)[0]
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.render(), end="")
    return report.exit_code


def _validate(args: argparse.Namespace) -> int:
    from turnmeter.schema_tools.validate import validate_queries

    problems = validate_queries(args.schema, args.queries, project=args.project)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(
            f"{len(problems)} problem(s); fix the queries or pull a newer schema", file=sys.stderr
        )
        return ExitCode.QUERY
    print("queries/ is valid against the schema")
    return ExitCode.OK


def _generate(args: argparse.Namespace) -> int:
    from turnmeter.schema_tools.generate import check_generated, generate

    if args.check:
        result = check_generated(args.project, from_path=args.source)
        if result.ok:
            print(f"{result.package_dir} is up to date")
            return ExitCode.OK
        print(f"{result.package_dir} is stale; run: turnmeter generate", file=sys.stderr)
        for line in result.lines():
            print(f"  {line}", file=sys.stderr)
        return ExitCode.FAILURE
    done = generate(args.project, from_path=args.source)
    if done.pruned is not None:
        print(f"pruned {args.source} -> {done.pruned.schema_file}")
    changed = len(done.changed) + len(done.removed)
    print(f"generated {done.package_dir}: {len(done.files)} files, {changed} changed")
    for name in (*done.changed, *done.removed):
        print(f"  {name}")
    return ExitCode.OK
