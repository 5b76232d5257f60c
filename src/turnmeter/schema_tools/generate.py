"""Regenerate the typed client with ariadne-codegen, in-process, and check it is fresh.

ariadne-codegen's command line resolves every configured path against the cwd and writes the
configured paths into the generated headers. Here paths are resolved against the project root,
the headers keep the configured (relative) spelling, and output goes to a scratch directory
first, so the committed package is replaced in one step and ``--check`` compares bytes.
"""

from __future__ import annotations

import filecmp
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from graphql import assert_valid_schema, build_ast_schema, parse

from turnmeter.errors import SchemaError
from turnmeter.schema_tools.project import Project, load_project
from turnmeter.schema_tools.store import PruneResult, prune_file, prune_source, read_schema_input
from turnmeter.schema_tools.validate import check_queries

INSTALL_HINT = "ariadne-codegen is not installed: run pip install -e '.[dev]'"
#: Files that belong to Python, not to the generator; never compared, never deleted.
_IGNORED_PARTS = frozenset({"__pycache__"})


@dataclass(frozen=True, slots=True)
class GenerateResult:
    """What ``generate`` did: the package written, files changed and removed, the prune if any."""

    package_dir: Path
    files: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    pruned: PruneResult | None = None


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The difference between a fresh generation and the committed package."""

    package_dir: Path
    stale: tuple[str, ...]
    missing: tuple[str, ...]
    extra: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when the committed package is byte-identical to a fresh generation."""
        return not (self.stale or self.missing or self.extra)

    def lines(self) -> list[str]:
        """One line per differing file, e.g. ``stale: generated/cf_analytics/enums.py``."""
        return [
            f"{label}: {self.package_dir / name}"
            for label, names in (
                ("stale", self.stale),
                ("missing", self.missing),
                ("extra", self.extra),
            )
            for name in names
        ]


def generate(
    project: Project | Path | str | None = None, *, from_path: Path | str | None = None
) -> GenerateResult:
    """Prune (when ``from_path`` is given or ``schema/`` is missing), validate, regenerate."""
    proj = project if isinstance(project, Project) else load_project(project)
    pruned = None
    if from_path is not None:
        pruned = prune_file(from_path, proj.schema_dir)
    elif not proj.schema_file.is_file():
        raise SchemaError(
            f"{proj.schema_file} is missing: run generate --from PATH (or schema pull)"
        )
    schema_text, _ = read_schema_input(proj.schema_file)
    with tempfile.TemporaryDirectory(prefix="turnmeter-gen-") as scratch:
        fresh = render_package(proj, schema_text, Path(scratch))
        changed, removed = _sync(fresh, proj.package_dir)
        files = tuple(_relative_files(fresh))
    return GenerateResult(proj.package_dir, files, changed, removed, pruned)


def check_generated(
    project: Project | Path | str | None = None, *, from_path: Path | str | None = None
) -> CheckResult:
    """Regenerate into a temporary folder and compare with the committed package, byte for byte.

    With ``from_path`` the schema is pruned in memory from that file; ``schema/`` is not touched.
    """
    proj = project if isinstance(project, Project) else load_project(project)
    if from_path is not None:
        text, digest = read_schema_input(from_path)
        schema_text = prune_source(text, source=str(from_path), sha256=digest).sdl
    else:
        schema_text, _ = read_schema_input(proj.schema_file)
    with tempfile.TemporaryDirectory(prefix="turnmeter-check-") as scratch:
        fresh = render_package(proj, schema_text, Path(scratch))
        return compare_packages(fresh, proj.package_dir)


def render_package(project: Project, schema_text: str, out_parent: Path) -> Path:
    """Validate the queries, then run ariadne-codegen into ``out_parent``; returns the package."""
    modules = _import_codegen()
    schema = build_ast_schema(parse(schema_text), assume_valid=True)
    check_queries(schema, project.queries_dir)
    schema_file = out_parent / "schema.graphql"
    schema_file.write_text(schema_text, encoding="utf-8")
    config = _resolved_config(project, schema_file, out_parent)
    try:
        _run_codegen(modules, config, project)
    except SchemaError:
        raise
    except Exception as exc:  # ariadne raises its own and plain exceptions; name the tool
        raise SchemaError(f"ariadne-codegen failed: {type(exc).__name__}: {exc}") from exc
    return out_parent / project.package_name


def compare_packages(fresh: Path, committed: Path) -> CheckResult:
    """Compare two package directories file by file (bytes), ignoring ``__pycache__``."""
    new = set(_relative_files(fresh))
    old = set(_relative_files(committed)) if committed.is_dir() else set()
    stale = sorted(
        name for name in new & old if not filecmp.cmp(fresh / name, committed / name, shallow=False)
    )
    return CheckResult(committed, tuple(stale), tuple(sorted(new - old)), tuple(sorted(old - new)))


def _sync(fresh: Path, target: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    result = compare_packages(fresh, target)
    target.mkdir(parents=True, exist_ok=True)
    changed = (*result.stale, *result.missing)
    for name in changed:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(fresh / name, target / name)
    for name in result.extra:
        (target / name).unlink()
    return tuple(sorted(changed)), result.extra


def _relative_files(directory: Path) -> Iterator[str]:
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if path.is_file() and not _IGNORED_PARTS.intersection(relative.parts):
            yield relative.as_posix()


def _import_codegen() -> SimpleNamespace:
    try:
        from ariadne_codegen.client_generators.package import get_package_generator
        from ariadne_codegen.config import get_client_settings
        from ariadne_codegen.plugins.explorer import get_plugins_types
        from ariadne_codegen.plugins.manager import PluginManager
        from ariadne_codegen.schema import (
            add_mixin_directive_to_schema,
            filter_fragments_definitions,
            filter_operations_definitions,
            get_graphql_queries,
            get_graphql_schema,
        )
        from ariadne_codegen.settings import get_validation_rule
    except ImportError as exc:
        raise SchemaError(INSTALL_HINT) from exc
    return SimpleNamespace(
        get_package_generator=get_package_generator,
        get_client_settings=get_client_settings,
        get_plugins_types=get_plugins_types,
        PluginManager=PluginManager,
        add_mixin_directive_to_schema=add_mixin_directive_to_schema,
        filter_fragments_definitions=filter_fragments_definitions,
        filter_operations_definitions=filter_operations_definitions,
        get_graphql_queries=get_graphql_queries,
        get_graphql_schema=get_graphql_schema,
        get_validation_rule=get_validation_rule,
    )


def _resolved_config(project: Project, schema_file: Path, out_parent: Path) -> dict[str, Any]:
    section = dict(project.codegen)
    section["schema_path"] = str(schema_file)
    section["queries_path"] = str(project.queries_dir)
    section["target_package_path"] = str(out_parent)
    if section.get("base_client_file_path"):
        section["base_client_file_path"] = str(project.root / section["base_client_file_path"])
    section["files_to_include"] = [
        str(project.root / f) for f in section.get("files_to_include", ())
    ]
    # ariadne mutates the scalars table it is given; hand it a copy.
    section["scalars"] = {name: dict(data) for name, data in section.get("scalars", {}).items()}
    return {"tool": {"ariadne-codegen": section}}


def _run_codegen(m: SimpleNamespace, config: dict[str, Any], project: Project) -> None:
    # Mirrors ariadne_codegen.main.client(), minus its stdout chatter.
    settings = m.get_client_settings(config)
    schema = m.get_graphql_schema(settings, config)
    plugins = m.PluginManager(
        schema=schema, config_dict=config, plugins_types=m.get_plugins_types(settings.plugins)
    )
    schema = plugins.process_schema(m.add_mixin_directive_to_schema(schema))
    assert_valid_schema(schema)
    rules = [m.get_validation_rule(name) for name in settings.skip_validation_rules]
    definitions = m.get_graphql_queries(settings.queries_path, schema, rules)
    generator = m.get_package_generator(
        schema=schema,
        fragments=m.filter_fragments_definitions(definitions),
        settings=settings,
        plugin_manager=plugins,
    )
    # The "# Source:" headers name the configured paths, not this run's absolute ones.
    generator.queries_source = str(project.codegen["queries_path"])
    generator.schema_source = str(project.codegen["schema_path"])
    for operation in m.filter_operations_definitions(definitions):
        generator.add_operation(operation)
    generator.generate()
