"""The repository holds its own inputs, and the installed package knows its version."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from turnmeter.cli import main
from turnmeter.errors import SchemaError
from turnmeter.schema_tools.store import prune_file, read_schema_input

ROOT = Path(__file__).resolve().parents[1]
#: The folder that sits beside a developer's clone but not beside a user's (built, so that this
#: file does not match its own search).
SIBLING = "../" + "shared"


def test_provenance_names_a_dump_inside_the_repository() -> None:
    provenance = json.loads((ROOT / "schema" / "provenance.json").read_text())
    source = ROOT / provenance["source"]
    assert not Path(provenance["source"]).is_absolute()
    assert ROOT in source.resolve().parents
    data = gzip.decompress(source.read_bytes())
    assert hashlib.sha256(data).hexdigest() == provenance["sha256"]


def test_no_tracked_file_reaches_outside_the_repository() -> None:
    found = subprocess.run(
        [
            "git",
            "grep",
            "-n",
            "-F",
            "-e",
            SIBLING,
            "--",
            ".",
            ":!CHANGELOG.md",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert found.returncode == 1, found.stdout


def test_a_gzip_dump_prunes_like_the_plain_one(tmp_path: Path) -> None:
    dump = ROOT / json.loads((ROOT / "schema" / "provenance.json").read_text())["source"]
    plain = tmp_path / "dump.graphql"
    plain.write_bytes(gzip.decompress(dump.read_bytes()))
    from_gzip = prune_file(dump, tmp_path / "a")
    from_plain = prune_file(plain, tmp_path / "b")
    assert (
        from_gzip.sdl == from_plain.sdl == (ROOT / "schema" / "cloudflare-turn.graphql").read_text()
    )
    assert from_gzip.provenance.sha256 == from_plain.provenance.sha256


def test_a_truncated_gzip_dump_is_a_schema_error(tmp_path: Path) -> None:
    broken = tmp_path / "dump.graphql.gz"
    broken.write_bytes(gzip.compress(b"type Query { x: Int }")[:-12])
    with pytest.raises(SchemaError, match=r"dump\.graphql\.gz"):
        read_schema_input(broken)


def test_version_comes_from_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    import turnmeter

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"turnmeter {version('turnmeter')}"
    assert turnmeter.__version__ == version("turnmeter")


def test_version_as_a_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "turnmeter", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == f"turnmeter {version('turnmeter')}"
