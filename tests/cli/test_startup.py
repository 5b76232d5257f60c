"""``turnmeter --help`` loads no command module and none of the heavy libraries; the command
table it lists from is exactly what the command modules register."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from turnmeter.cli import COMMAND_MODULES, COMMANDS, build_parser, main
from turnmeter.version import package_version

HEAVY = ("graphql", "msgspec", "aiohttp", "pydantic", "orjson", "cf_analytics", "rich")
PROBE = """
import json, sys
from turnmeter.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _modules_after(*argv: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def _top(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_help_imports_no_command_module_and_no_heavy_library() -> None:
    loaded = _modules_after("--help")
    assert not _top(loaded) & set(HEAVY)
    assert not loaded & set(COMMAND_MODULES)
    assert "typing" not in loaded  # a third of the start-up budget on its own
    assert "importlib.metadata" not in loaded  # only --version reads the version


def test_a_command_loads_its_own_module_only() -> None:
    loaded = _modules_after("top-keys", "--help")
    assert loaded & set(COMMAND_MODULES) == {"turnmeter.cli.usage_cmd"}
    assert not _top(loaded) & {"graphql", "msgspec", "aiohttp", "cf_analytics"}


def _listed(parser: argparse.ArgumentParser) -> list[tuple[str, str | None]]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [(choice.dest, choice.help) for choice in action._choices_actions]


def test_the_table_is_what_the_modules_register() -> None:
    registered = _listed(build_parser())
    assert registered == [(c.name, c.help) for c in COMMANDS]
    assert _listed(build_parser(lazy=True)) == registered


@pytest.mark.parametrize("columns", ["60", "100"])
def test_lazy_help_reads_like_the_full_parser(
    columns: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    assert main(["--help"]) == 0
    lazy = capsys.readouterr().out
    build_parser().print_help()
    assert lazy == capsys.readouterr().out


def test_unknown_command_lists_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nope"]) == 2
    assert "'top-keys'" in capsys.readouterr().err


def test_version_is_read_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"turnmeter {package_version()}"
