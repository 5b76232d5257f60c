"""Where turnmeter's data files are: the pruned schema and the ``.graphql`` operations.

In a source checkout (the editable install) they are the project's top-level ``schema/`` and
``queries/``; a built wheel carries the same files as ``turnmeter.resources.schema`` and
``turnmeter.resources.queries``.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

SCHEMA_FILE_NAME = "cloudflare-turn.graphql"
PROVENANCE_FILE_NAME = "provenance.json"

_CHECKOUT_ROOT = Path(__file__).resolve().parents[3]


def project_root() -> Path | None:
    """The source checkout this package runs from, or None when installed from a wheel."""
    if (_CHECKOUT_ROOT / "pyproject.toml").is_file() and (_CHECKOUT_ROOT / "queries").is_dir():
        return _CHECKOUT_ROOT
    return None


def schema_dir() -> Path:
    """The directory holding the pruned schema and its provenance."""
    return _data_dir("schema")


def queries_dir() -> Path:
    """The directory holding one ``.graphql`` operation per file."""
    return _data_dir("queries")


def schema_file() -> Path:
    """The pruned TURN schema SDL the project is built against."""
    return schema_dir() / SCHEMA_FILE_NAME


def _data_dir(name: str) -> Path:
    root = project_root()
    if root is not None:
        return root / name
    return Path(str(importlib.resources.files(f"turnmeter.resources.{name}")))
