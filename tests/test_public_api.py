"""The public namespace: complete, sorted, and importable without the heavy layers."""

from __future__ import annotations

import subprocess
import sys

import pytest

import turnmeter


def test_all_is_sorted_and_unique() -> None:
    assert list(turnmeter.__all__) == sorted(set(turnmeter.__all__))


def test_every_public_name_resolves() -> None:
    for name in turnmeter.__all__:
        assert getattr(turnmeter, name) is not None, name


def test_lazy_table_and_all_agree() -> None:
    lazy = [name for names in turnmeter._LAZY.values() for name in names]
    assert len(lazy) == len(set(lazy))
    assert set(lazy) | {"__version__"} == set(turnmeter.__all__)


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        turnmeter.NoSuchThing  # noqa: B018


def test_cli_help_does_not_import_heavy_layers() -> None:
    code = (
        "import sys; from turnmeter.cli import main; main(['--help']);"
        "heavy = [m for m in ('graphql', 'matplotlib', 'gql', 'aiohttp', 'pydantic', "
        "'cf_analytics', 'rich', 'msgspec') if m in sys.modules]; print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().endswith("[]"), result.stdout[-300:]


def test_importing_the_client_imports_no_http_validation_or_graphql_layer() -> None:
    # What keeps `from turnmeter import TurnUsage` cheap (bench/ measures the time): aiohttp,
    # pydantic, graphql-core and msgspec load when a client is built or a request decoded.
    code = (
        "import sys; from turnmeter import TurnUsage;"
        "heavy = [m for m in ('graphql', 'gql', 'aiohttp', 'pydantic', 'msgspec', 'asyncio', "
        "'cf_analytics.client', 'cf_analytics.usage_rows') if m in sys.modules]; print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().endswith("[]"), result.stdout[-300:]
