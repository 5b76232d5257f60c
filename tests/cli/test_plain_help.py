"""The top-level help printed without argparse is, byte for byte, what argparse prints for the
same parser: at any width, with no terminal, through the console script and ``python -m``."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from turnmeter.cli import COMMANDS, DESCRIPTION, EPILOG, FLAGS, build_parser, main
from turnmeter.cli.plain_help import _RULES, top_level_help, wrap

#: This interpreter's argparse layout is one plain_help knows (else argparse prints the help).
KNOWN = sys.version_info[:2] in _RULES
SCRIPT = str(Path(sys.executable).parent / "turnmeter")
NO_TERMINAL_ARGPARSE = "from turnmeter.cli import build_parser; build_parser().print_help()"


def _argparse_help(columns: int, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COLUMNS", str(columns))
    return build_parser().format_help()


@pytest.mark.parametrize("columns", [40, 80, 120, 200])
def test_same_bytes_as_argparse(columns: int, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _argparse_help(columns, monkeypatch)
    assert top_level_help() == (expected if KNOWN else None)


def test_same_bytes_as_argparse_at_every_width(monkeypatch: pytest.MonkeyPatch) -> None:
    # Narrow widths take argparse's other branches: usage on several lines, help below the name.
    for columns in range(1, 260):
        expected = _argparse_help(columns, monkeypatch)
        assert top_level_help(columns) == (expected if KNOWN else None), columns


@pytest.mark.parametrize(("argv", "code"), [(["--help"], 0), (["-h"], 0), ([], 2)])
def test_main_prints_argparse_help(
    argv: list[str], code: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = _argparse_help(72, monkeypatch)
    assert main(argv) == code
    assert capsys.readouterr() == (expected, "")


def _run(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=env, check=False)


@pytest.mark.parametrize(
    "command", [[SCRIPT, "--help"], [SCRIPT, "-h"], [sys.executable, "-m", "turnmeter", "--help"]]
)
def test_entry_points_with_no_terminal(command: list[str]) -> None:
    # stdout is a pipe and COLUMNS unset: both paths fall back to 80 columns.
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    expected = _run(sys.executable, "-c", NO_TERMINAL_ARGPARSE, env=env)
    done = _run(*command, env=env)
    assert (done.returncode, done.stdout, done.stderr) == (0, expected.stdout, "")


def _imported(*command: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *command], capture_output=True, text=True, check=True
    )
    lines = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[1].strip() for line in lines[1:]}


@pytest.mark.parametrize("command", [[SCRIPT, "--help"], ["-m", "turnmeter", "--help"]])
def test_entry_points_import_no_argparse(command: list[str]) -> None:
    loaded = _imported(*command)
    assert "turnmeter.cli.plain_help" in loaded
    slow = {"argparse", "textwrap", "gettext", "typing", "shutil", "turnmeter.cli.parser"}
    assert not loaded & slow if KNOWN else "argparse" in loaded
    assert not loaded & {c.module for c in COMMANDS}


def _texts() -> list[str]:
    # Every help text, and hyphen, dash and punctuation soup for textwrap's word splitting.
    rng = random.Random(14)
    soup = ["".join(rng.choice("ab-_1.,!?'\"&()/ x--") for _ in range(40)) for _ in range(3000)]
    helps = [DESCRIPTION, EPILOG, *(c.help for c in COMMANDS), *(text for _, text in FLAGS)]
    return helps + [" ".join(s.split()) for s in soup if s.strip()]


def test_wrap_is_textwrap() -> None:
    for text in _texts():
        for width in (1, 2, 3, 5, 8, 11, 17, 30, 60):
            assert wrap(text, width) == textwrap.wrap(text, width), (text, width)
