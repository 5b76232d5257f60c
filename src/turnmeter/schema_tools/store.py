"""Write a pruned schema and its provenance into ``schema/``.

The schema file is a pure function of the input's TURN subgraph, so it is byte-identical
whichever format or source it came from. The provenance file records where it came from.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from graphql import GraphQLSchema

from turnmeter.errors import SchemaError
from turnmeter.resources import PROVENANCE_FILE_NAME, SCHEMA_FILE_NAME
from turnmeter.schema_tools.prune import is_introspection, prune_text, render
from turnmeter.version import package_version

FORMAT_SDL = "sdl"
FORMAT_INTROSPECTION = "introspection-json"
#: The first two bytes of every gzip stream (RFC 1952).
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a pruned schema came from; written as ``schema/provenance.json``."""

    source: str
    format: str
    retrieved_at: str
    sha256: str
    schema_sha256: str
    turnmeter_version: str


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What a prune produced: the canonical SDL and its provenance (and files, once written)."""

    sdl: str
    provenance: Provenance
    schema_file: Path | None = None
    provenance_file: Path | None = None


def read_schema_input(path: Path | str) -> tuple[str, str]:
    """The text of a schema file (``.gz`` read transparently) and the sha256 of its bytes.

    For a compressed file the digest is that of the uncompressed text, so a dump keeps one
    identity however it is stored.
    """
    try:
        data = Path(path).read_bytes()
        if data[:2] == GZIP_MAGIC:
            data = gzip.decompress(data)
    except OSError as exc:  # gzip.BadGzipFile is an OSError too
        reason = exc.strerror or str(exc)
        raise SchemaError(f"cannot read schema input {path}: {reason}") from exc
    except EOFError as exc:
        raise SchemaError(f"cannot read schema input {path}: truncated gzip data") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SchemaError(f"schema input {path} is not UTF-8") from exc
    return text, hashlib.sha256(data).hexdigest()


def load_schema(path: Path | str, *, strict: bool = False) -> GraphQLSchema:
    """Any schema file (SDL or introspection JSON, full or pruned) pruned to the TURN subgraph."""
    text, _ = read_schema_input(path)
    return prune_text(text, strict=strict)


def prune_source(text: str, *, source: str, sha256: str | None = None) -> PruneResult:
    """Prune ``text`` (SDL or introspection JSON) and describe where it came from."""
    sdl = render(prune_text(text))
    digest = sha256 or hashlib.sha256(text.encode("utf-8")).hexdigest()
    provenance = Provenance(
        source=source,
        format=FORMAT_INTROSPECTION if is_introspection(text) else FORMAT_SDL,
        retrieved_at=datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        sha256=digest,
        schema_sha256=hashlib.sha256(sdl.encode("utf-8")).hexdigest(),
        turnmeter_version=package_version(),
    )
    return PruneResult(sdl=sdl, provenance=provenance)


def prune_file(
    path: Path | str, out_dir: Path | str | None = None, *, source: str | None = None
) -> PruneResult:
    """Prune a schema file into ``out_dir`` (default: the project's ``schema/``)."""
    if out_dir is None:
        from turnmeter.schema_tools.project import load_project

        out_dir = load_project().schema_dir
    text, digest = read_schema_input(path)
    label = source or _display(Path(path), Path(out_dir).resolve().parent)
    return write_pruned(prune_source(text, source=label, sha256=digest), out_dir)


def write_pruned(result: PruneResult, out_dir: Path | str | None = None) -> PruneResult:
    """Write the schema and provenance files; returns ``result`` with their paths."""
    if out_dir is None:
        from turnmeter.schema_tools.project import load_project

        out_dir = load_project().schema_dir
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    schema_file = directory / SCHEMA_FILE_NAME
    provenance_file = directory / PROVENANCE_FILE_NAME
    _write_atomic(schema_file, result.sdl)
    body = json.dumps(asdict(result.provenance), indent=2, sort_keys=True) + "\n"
    _write_atomic(provenance_file, body)
    return PruneResult(result.sdl, result.provenance, schema_file, provenance_file)


def public_url(url: str) -> str:
    """``url`` without credentials, query or fragment: safe to write into a committed file."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _display(path: Path, project_root: Path) -> str:
    # Relative to the project (e.g. schema/dumps/x.graphql.gz) keeps the committed provenance
    # free of one machine's directory layout; anything outside the project is named by file
    # only, so the committed provenance never points outside the repository.
    try:
        relative = os.path.relpath(path.resolve(), project_root)
    except ValueError:
        return path.name
    return path.name if Path(relative).parts[:1] == ("..",) else relative


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8", newline="\n")
    temporary.replace(path)
