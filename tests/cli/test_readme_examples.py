"""The README's command-line examples print what the README shows, on any day (``--now``)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from turnmeter.cli import main

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def in_process_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TURNMETER_SANDBOX_URL", "TURNMETER_CONFIG", "TURNMETER_SANDBOX_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent-turnmeter-test")


def example(command: str) -> tuple[list[str], str]:
    """The arguments of the README's ``$ turnmeter ...`` line starting with ``command``, and
    the output printed under it (up to the next prompt or the end of the block)."""
    match = re.search(
        rf"^\$ turnmeter ({re.escape(command)}[^\n;]*)(?:; echo \"exit \$\?\")?\n"
        r"(.*?)(?=^\$ |^```)",
        README,
        re.MULTILINE | re.DOTALL,
    )
    assert match, command
    return match.group(1).split(), match.group(2)


def test_budget_example(capsys: pytest.CaptureFixture[str]) -> None:
    argv, shown = example("budget")
    assert "--now" in argv
    code = main(argv)
    printed, _, exit_line = shown.rstrip("\n").rpartition("\n")
    assert exit_line == f"exit {code}"
    assert json.loads(capsys.readouterr().out) == json.loads(printed)


def test_series_example(capsys: pytest.CaptureFixture[str]) -> None:
    argv, shown = example("series")
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    for line in shown.splitlines():
        if line not in ("...", ""):
            assert line in lines


def test_top_keys_example(capsys: pytest.CaptureFixture[str]) -> None:
    argv, shown = example("top-keys")
    assert main(argv) == 0
    assert capsys.readouterr().out.strip() == shown.strip()
