"""turnmeter's data files: the pruned schema and the ``.graphql`` operations, read as text.

In a source checkout they are the project's top-level ``schema/`` and ``queries/`` (so an edit
there is seen at once, before any reinstall); a built wheel carries the same files inside this
package (``turnmeter/resources/schema``, ``turnmeter/resources/queries``), read through
:mod:`importlib.resources` so that they work from a zip too. Callers get text, never a path:
an installed package need not live on a file system.
"""

from __future__ import annotations

import functools
import importlib.resources
from importlib.resources.abc import Traversable
from pathlib import Path

SCHEMA_FILE_NAME = "cloudflare-turn.graphql"
PROVENANCE_FILE_NAME = "provenance.json"

_CHECKOUT_ROOT = Path(__file__).resolve().parents[3]


@functools.cache
def project_root() -> Path | None:
    """The source checkout this package runs from, or None when installed from a wheel."""
    marker = _CHECKOUT_ROOT / "queries"
    if (_CHECKOUT_ROOT / "pyproject.toml").is_file() and marker.is_dir():
        return _CHECKOUT_ROOT
    return None


def schema_text() -> str:
    """The pruned TURN schema SDL the project is built against."""
    return _data_dir("schema").joinpath(SCHEMA_FILE_NAME).read_text(encoding="utf-8")


def query_text(operation: str) -> str:
    """The text of ``queries/<operation>.graphql``."""
    return _data_dir("queries").joinpath(f"{operation}.graphql").read_text(encoding="utf-8")


def _data_dir(name: str) -> Traversable:
    root = project_root()
    if root is not None:
        return root / name
    return importlib.resources.files(__name__).joinpath(name)
