"""The argparse side of the command line: the parser and the run of one parsed command.

:data:`turnmeter.cli.COMMANDS` lists the subcommands; a listed command is a placeholder until
argparse picks it, then its module's ``register(subparsers)`` adds the real parser.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from turnmeter.cli import COMMANDS, DESCRIPTION, EPILOG, FLAGS, PROG
from turnmeter.cli.exit_codes import ExitCode
from turnmeter.cli.plain_help import terminal_columns

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs a third of --help
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any


class _VersionAction(argparse.Action):
    """``--version``, reading the installed version only when asked (importlib.metadata is
    the slowest import ``--help`` would otherwise pay for)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any, **__: Any) -> None:
        from turnmeter.version import package_version

        print(f"{parser.prog} {package_version()}")  # stdout, as argparse's own action
        parser.exit()


class _LazyCommands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Subcommands listed from :data:`COMMANDS` and registered when one is chosen.

    argparse needs only a name and a help line to list a command (and to refuse an unknown
    one), but building a parser per command costs more than the rest of start-up. (argparse's
    private names here have been stable since Python 3.2.)
    """

    def add_placeholder(self, name: str, help: str) -> None:
        self._choices_actions.append(self._ChoicesPseudoAction(name, (), help))
        self._name_parser_map[name] = None

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
    """argparse's formatter, with the terminal width read without importing shutil."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=terminal_columns() - 2)


def build_parser(*, lazy: bool = False) -> argparse.ArgumentParser:
    """The argument parser with every command module's subcommands; ``lazy`` lists them from
    :data:`COMMANDS` and imports a command's module only once argparse chooses it."""
    parser = argparse.ArgumentParser(
        prog=PROG, description=DESCRIPTION, epilog=EPILOG, formatter_class=_HelpFormatter
    )
    debug, version = FLAGS
    parser.add_argument(debug[0], action="store_true", help=debug[1])
    parser.add_argument(version[0], action=_VersionAction, help=version[1])
    subparsers: _LazyCommands = parser.add_subparsers(  # type: ignore[assignment]
        dest="command", metavar="COMMAND", action=_LazyCommands
    )
    for command in COMMANDS:
        if lazy:
            subparsers.add_placeholder(command.name, command.help)
        elif command.name not in subparsers.choices:  # not added with its module's first
            importlib.import_module(command.module).register(subparsers)
    return parser


def run(argv: Sequence[str] | None) -> int:
    """Parse ``argv`` and run its command; return the exit code."""
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
