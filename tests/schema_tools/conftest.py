"""Fixtures for the schema workflow: the real dump, its JSON twin, and scratch project copies."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from pathlib import Path

import graphql
import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Cloudflare's full dump, committed inside the project (gzip; the tools read it transparently).
DUMP = ROOT / "schema" / "dumps" / "cloudflare-graphql-schema-2025-12-07.graphql.gz"
COMMITTED_SCHEMA = ROOT / "schema" / "cloudflare-turn.graphql"
#: What generate needs from a project: config, inputs, the two included source files, output.
PROJECT_INPUTS = ("pyproject.toml", "schema", "queries", "generated", "src/turnmeter/codegen")


@pytest.fixture(scope="session")
def dump_text() -> str:
    """Cloudflare's full SDL dump (2.8 MB), read once."""
    return gzip.decompress(DUMP.read_bytes()).decode("utf-8")


@pytest.fixture(scope="session")
def dump_json(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, dump_text: str
) -> Path:
    """The dump as introspection JSON, built once with graphql-core (an independent path).

    Building it needs a full graphql-core parse (~3 s), so it is cached across sessions in
    pytest's cache directory, keyed by the dump's sha256 and graphql-core's version.
    """
    key = hashlib.sha256(DUMP.read_bytes()).hexdigest()[:16] + "-" + graphql.version
    cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    directory = cache.mkdir("turnmeter-schema") if cache else tmp_path_factory.mktemp("cache")
    cached = Path(directory) / f"dump-{key}.json"
    if not cached.is_file():
        schema = graphql.build_ast_schema(
            graphql.parse(dump_text, no_location=True), assume_valid=True
        )
        body = json.dumps({"data": graphql.introspection_from_schema(schema)})
        scratch = tmp_path_factory.mktemp("json") / cached.name
        scratch.write_text(body, encoding="utf-8")
        shutil.move(scratch, cached)
    return cached


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A scratch copy of the project's codegen inputs and generated/ (never the real tree)."""
    for name in PROJECT_INPUTS:
        source, target = ROOT / name, tmp_path / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    return tmp_path
