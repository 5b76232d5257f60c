"""The ``turnmeter`` command line: a thin ``main(argv) -> int`` over the library.

:data:`COMMANDS` names every command with its module and its one-line help. ``turnmeter
--help`` (also ``-h``, and no arguments) is printed from that table by
:mod:`turnmeter.cli.plain_help` without importing argparse or any command module; any other
argv goes to :mod:`turnmeter.cli.parser`, whose argparse parser lists the commands from the same
table and imports a command's module only when it runs (its handler then imports graphql-core,
aiohttp or matplotlib as it needs them).

Adding a command: write ``register(subparsers)`` in its module and add one :class:`Command` line
below (a test holds the table to what the modules register: names, order and help).
"""

from __future__ import annotations

import sys

# Not typing.TYPE_CHECKING: importing typing alone is a third of `turnmeter --help`'s budget.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

PROG = "turnmeter"
DESCRIPTION = "Read Cloudflare Realtime TURN usage (bytes per key, credential, customer)."
EPILOG = "Example: turnmeter demo"
#: The top-level flags after argparse's own ``-h, --help``, as (flag, help).
FLAGS = (
    ("--debug", "show tracebacks on errors"),
    ("--version", "show program's version number and exit"),
)
#: The argv lists that print the top-level help (no arguments: the help, exit code 2).
_HELP_REQUESTS: tuple[list[str], ...] = ([], ["-h"], ["--help"])


class Command(tuple[str, str, str]):
    """A subcommand as ``turnmeter --help`` lists it, and the module that registers it.

    A plain tuple subclass: ``typing.NamedTuple`` would import typing at every start-up.
    """

    __slots__ = ()

    def __new__(cls, name: str, module: str, help: str) -> Command:
        return super().__new__(cls, (name, module, help))

    @property
    def name(self) -> str:
        return self[0]

    @property
    def module(self) -> str:
        return self[1]

    @property
    def help(self) -> str:
        return self[2]


_USAGE = "turnmeter.cli.usage_cmd"
_BILLING = "turnmeter.cli.billing_cmd"
_SCHEMA = "turnmeter.cli.schema_cmd"
#: Every subcommand, in the order ``--help`` lists them (a module's commands in the order its
#: ``register`` adds them).
COMMANDS: tuple[Command, ...] = (
    Command(
        "demo",
        "turnmeter.cli.demo_cmd",
        "run Cloudflare's four TURN analytics queries against a local sandbox",
    ),
    Command("schema", _SCHEMA, "pull, prune, diff and validate Cloudflare's GraphQL schema"),
    Command(
        "generate",
        _SCHEMA,
        "regenerate the typed client from schema/ and queries/ (ariadne-codegen)",
    ),
    Command(
        "sandbox",
        "turnmeter.cli.sandbox_cmd",
        "a local server that answers like Cloudflare's TURN analytics API",
    ),
    Command("top-keys", _USAGE, "TURN keys by egress"),
    Command("top-customers", _USAGE, "custom identifiers (your customers) by egress"),
    Command("top-users", _USAGE, "TURN usernames (credentials) by egress, e.g. to catch abuse"),
    Command("usage", _USAGE, "one customer, key or user: egress broken down"),
    Command("total", _USAGE, "egress and ingress over a range, with cost"),
    Command("series", _USAGE, "a time series of egress, ingress and concurrent connections"),
    Command("query", _USAGE, "any grouping, metrics, filters and order (the query DSL)"),
    Command("limits", _USAGE, "the TURN dataset's node limits for the account"),
    Command(
        "budget",
        _BILLING,
        "month-to-date egress, cost, free tier left; exit 1 once at or over --budget",
    ),
    Command(
        "export",
        _BILLING,
        "per-customer usage for a billing period, with cost (CSV, JSON, NDJSON, Parquet)",
    ),
    Command(
        "credentials",
        "turnmeter.cli.credentials_cmd",
        "mint or revoke TURN credentials (with the budget guard when a budget is set)",
    ),
    Command(
        "exporter",
        "turnmeter.cli.exporter_cmd",
        "serve Prometheus metrics: egress/ingress counters per key and customer, "
        "month to date, cost, budget",
    ),
    Command(
        "sync",
        "turnmeter.cli.sync_cmd",
        "pull usage buckets into the ledger (SQLite or PostgreSQL), settled and idempotent",
    ),
    Command(
        "ledger",
        "turnmeter.cli.sync_cmd",
        "the usage ledger: coverage (settled ranges, unsettled tail, gaps)",
    ),
    Command(
        "bill",
        "turnmeter.cli.bill_cmd",
        "the Realtime bill: TURN + SFU egress month to date, the shared free tier, cost",
    ),
)
#: The modules that add subcommands, each defining ``register(subparsers)``.
COMMAND_MODULES = tuple(dict.fromkeys(command.module for command in COMMANDS))


def build_parser(*, lazy: bool = False) -> argparse.ArgumentParser:
    """The argument parser (see :func:`turnmeter.cli.parser.build_parser`)."""
    from turnmeter.cli.parser import build_parser as build

    return build(lazy=lazy)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (see :mod:`turnmeter.cli.exit_codes`)."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args in _HELP_REQUESTS and _print_plain_help():
        return 0 if args else 2  # ExitCode.USAGE without importing enum's class machinery
    from turnmeter.cli.parser import run as run_parsed

    return run_parsed(args)


def _print_plain_help() -> bool:
    from turnmeter.cli.plain_help import top_level_help

    text = top_level_help()
    if text is None:
        return False
    try:
        (sys.stdout or sys.stderr).write(text)
    except (AttributeError, OSError):  # as argparse's print_help: no stdout is no error
        return True
    return True


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
