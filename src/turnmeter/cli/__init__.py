"""The ``turnmeter`` command line: a thin ``main(argv) -> int`` over the library.

Only argparse is imported to start. :data:`COMMANDS` names every command with its module and
its one-line help, so ``turnmeter --help`` (and a usage error) lists them without importing any
command module; running a command imports its module alone, whose ``register(subparsers)``
adds the real parser, and the handler imports what it needs (graphql-core, aiohttp,
matplotlib) when it runs.

Adding a command: write ``register(subparsers)`` in its module and add one :class:`Command` line
below (a test holds the table to what the modules register: names, order and help).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from turnmeter.cli.exit_codes import ExitCode

# Not typing.TYPE_CHECKING: importing typing alone is a third of `turnmeter --help`'s budget.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any


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


class _VersionAction(argparse.Action):
    """``--version``, reading the installed version only when asked (importlib.metadata is
    the slowest import ``--help`` would otherwise pay for)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("help", "show program's version number and exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any, **__: Any) -> None:
        from turnmeter.version import package_version

        print(f"{parser.prog} {package_version()}")  # stdout, as argparse's own action
        parser.exit()


class _LazyCommands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Subcommands listed from :data:`COMMANDS` and registered when one is chosen.

    argparse needs only a name and a help line to list a command (and to refuse an unknown
    one), but building a parser per command costs more than the rest of ``--help``: a listed
    command is a placeholder until argparse picks it, then its module registers the real
    parsers. (argparse's private names here have been stable since Python 3.2.)
    """

    def add_placeholder(self, command: Command) -> None:
        self._choices_actions.append(self._ChoicesPseudoAction(command.name, (), command.help))
        self._name_parser_map[command.name] = None

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: Any, values: Any, *rest: Any
    ) -> None:
        name = values[0] if values else None
        if name in self._name_parser_map and self._name_parser_map[name] is None:
            self._register(next(c.module for c in COMMANDS if c.name == name))
        super().__call__(parser, namespace, values, *rest)

    def _register(self, module: str) -> None:
        names = {c.name for c in COMMANDS if c.module == module}
        for name in names:  # the real parsers take the placeholders' places
            del self._name_parser_map[name]
        self._choices_actions[:] = [a for a in self._choices_actions if a.dest not in names]
        importlib.import_module(module).register(self)


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, with the terminal width read without importing shutil (which
    pulls in bz2, lzma and zlib: a tenth of ``turnmeter --help``)."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_terminal_columns() - 2)


def _terminal_columns() -> int:
    # shutil.get_terminal_size's rule: $COLUMNS, else the terminal of stdout, else 80.
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def build_parser(*, lazy: bool = False) -> argparse.ArgumentParser:
    """The argument parser with every command module's subcommands; ``lazy`` lists them from
    :data:`COMMANDS` and imports a command's module only once argparse chooses it."""
    parser = argparse.ArgumentParser(
        prog="turnmeter",
        description="Read Cloudflare Realtime TURN usage (bytes per key, credential, customer).",
        epilog="Example: turnmeter demo",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--version", action=_VersionAction)
    subparsers: _LazyCommands = parser.add_subparsers(  # type: ignore[assignment]
        dest="command", metavar="COMMAND", action=_LazyCommands
    )
    for command in COMMANDS:
        if lazy:
            subparsers.add_placeholder(command)
        elif command.name not in subparsers.choices:  # not added with its module's first
            importlib.import_module(command.module).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (see :mod:`turnmeter.cli.exit_codes`)."""
    parser = build_parser(lazy=True)
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
        from turnmeter.cli.exit_codes import exit_code_for
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
