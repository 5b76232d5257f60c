"""The public namespace: complete, sorted, and importable without the heavy layers."""

from __future__ import annotations

import subprocess
import sys

import turnmeter


def test_all_is_sorted_and_unique() -> None:
    assert list(turnmeter.__all__) == sorted(set(turnmeter.__all__))


def test_all_names_every_public_attribute() -> None:
    public = {
        name
        for name, value in vars(turnmeter).items()
        if not name.startswith("_") and not isinstance(value, type(turnmeter))
    }
    assert public <= set(turnmeter.__all__) | {"annotations"}
    assert all(hasattr(turnmeter, name) for name in turnmeter.__all__)


def test_cli_help_does_not_import_graphql_or_matplotlib() -> None:
    code = (
        "import sys; from turnmeter.cli import main; main(['--help']);"
        "heavy = [m for m in ('graphql', 'matplotlib', 'gql', 'aiohttp', 'pydantic') "
        "if m in sys.modules]; print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().endswith("[]")
