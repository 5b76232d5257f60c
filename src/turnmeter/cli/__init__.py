"""The ``turnmeter`` command line: a thin ``main(argv) -> int`` over the library.

Only argparse is imported here. Every command module registers its parsers cheaply and imports
what it needs (graphql-core, aiohttp, matplotlib) inside its handler, so ``turnmeter --help``
stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from turnmeter.cli.exit_codes import ExitCode, exit_code_for
from turnmeter.version import package_version

#: Modules that add subcommands; each defines ``register(subparsers)``.
COMMAND_MODULES = (
    "turnmeter.cli.demo_cmd",
    "turnmeter.cli.schema_cmd",
    "turnmeter.cli.sandbox_cmd",
    "turnmeter.cli.usage_cmd",
    "turnmeter.cli.billing_cmd",
    "turnmeter.cli.credentials_cmd",
    "turnmeter.cli.exporter_cmd",
    "turnmeter.cli.sync_cmd",
    "turnmeter.cli.bill_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every command module's subcommands."""
    parser = argparse.ArgumentParser(
        prog="turnmeter",
        description="Read Cloudflare Realtime TURN usage (bytes per key, credential, customer).",
        epilog="Example: turnmeter demo",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (see :mod:`turnmeter.cli.exit_codes`)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on usage errors
        return int(exc.code or 0)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return ExitCode.USAGE
    try:
        return int(handler(args))
    except KeyboardInterrupt:
        print("turnmeter: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`turnmeter ... | head`): stop quietly, as shell tools do.
        _silence_stdout()
        return ExitCode.BROKEN_PIPE
    except Exception as exc:
        if args.debug:
            raise
        from turnmeter.cli.messages import for_people

        code, hint = exit_code_for(exc, rate_limit=getattr(args, "rate_limit_words", None))
        print(f"turnmeter: {for_people(str(exc))}{hint}", file=sys.stderr)
        return code


def _silence_stdout() -> None:
    # Python would report the broken pipe again when it flushes stdout at exit.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
