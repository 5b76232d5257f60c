"""Where a turnmeter project's inputs live: pyproject's ariadne-codegen section, resolved to paths.

Every schema command works from any working directory: paths in ``[tool.ariadne-codegen]`` are
relative to the project root, never to the cwd.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from turnmeter.errors import ConfigError

CODEGEN_SECTION = "ariadne-codegen"
PYPROJECT = "pyproject.toml"
#: Full introspection results live here, inside the project but gitignored.
CACHE_DIR_NAME = ".turnmeter-cache"


@dataclass(frozen=True, slots=True)
class Project:
    """A project root and its codegen configuration (paths as written in pyproject)."""

    root: Path
    codegen: Mapping[str, Any]

    @property
    def schema_file(self) -> Path:
        """The pruned schema SDL that codegen reads."""
        return self.root / str(self.codegen["schema_path"])

    @property
    def schema_dir(self) -> Path:
        """The directory of the pruned schema (and its provenance)."""
        return self.schema_file.parent

    @property
    def queries_dir(self) -> Path:
        """The directory of ``.graphql`` operations."""
        return self.root / str(self.codegen["queries_path"])

    @property
    def package_name(self) -> str:
        """The generated package's import name."""
        return str(self.codegen.get("target_package_name", "graphql_client"))

    @property
    def package_dir(self) -> Path:
        """The committed generated package."""
        return self.root / str(self.codegen.get("target_package_path", ".")) / self.package_name

    @property
    def cache_dir(self) -> Path:
        """Where pulled introspection results are kept (gitignored)."""
        return self.root / CACHE_DIR_NAME

    def scalar_types(self) -> dict[str, str]:
        """GraphQL scalar name -> the Python type name the generated code uses for it."""
        scalars = self.codegen.get("scalars") or {}
        return {name: str(data["type"]).rsplit(".", 1)[-1] for name, data in scalars.items()}


def load_project(root: Path | str | None = None) -> Project:
    """The project at ``root``, else the one around the cwd, else turnmeter's own checkout."""
    path = Path(root).resolve() if root is not None else _default_root()
    pyproject = path / PYPROJECT
    try:
        with pyproject.open("rb") as handle:
            config = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"no {PYPROJECT} in {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject} is not valid TOML: {exc}") from exc
    section = config.get("tool", {}).get(CODEGEN_SECTION)
    if not isinstance(section, Mapping):
        raise ConfigError(f"{pyproject} has no [tool.{CODEGEN_SECTION}] section")
    for key in ("schema_path", "queries_path"):
        if not isinstance(section.get(key), str):
            raise ConfigError(f"[tool.{CODEGEN_SECTION}] in {pyproject} lacks {key!r}")
    return Project(root=path, codegen=section)


def _default_root() -> Path:
    # A project around the cwd wins (a user's own checkout); else the one turnmeter runs from.
    for candidate in (Path.cwd(), *Path.cwd().parents):
        if _has_codegen_section(candidate / PYPROJECT):
            return candidate
    from turnmeter.resources import project_root

    checkout = project_root()
    if checkout is not None:
        return checkout
    raise ConfigError(f"no {PYPROJECT} with [tool.{CODEGEN_SECTION}] found; pass --project DIR")


def _has_codegen_section(pyproject: Path) -> bool:
    try:
        with pyproject.open("rb") as handle:
            return CODEGEN_SECTION in tomllib.load(handle).get("tool", {})
    except (OSError, tomllib.TOMLDecodeError):
        return False
