"""Validate ``queries/*.graphql`` against a schema, naming file, line, column and operation.

ariadne-codegen validates the concatenation of every file and reports bare messages; this reads
each file as its own source so every problem points at the place to fix.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    Node,
    NoUnusedFragmentsRule,
    OperationDefinitionNode,
    Source,
    parse,
    specified_rules,
    validate,
)

from turnmeter.errors import QueryError

QUERY_SUFFIXES = (".graphql", ".graphqls", ".gql")
#: ariadne-codegen skips this rule by default (fragments may live in a shared file).
VALIDATION_RULES = tuple(rule for rule in specified_rules if rule is not NoUnusedFragmentsRule)


@dataclass(frozen=True, slots=True)
class QueryProblem:
    """One problem in one query file, printed as ``file:line:column: operation: message``."""

    file: str
    line: int
    column: int
    operation: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.operation}: " if self.operation else ""
        return f"{self.file}:{self.line}:{self.column}: {where}{self.message}"


@dataclass(frozen=True, slots=True)
class OperationFile:
    """A parsed query file (its AST nodes carry the file name in their locations)."""

    path: Path
    display: str
    document: DocumentNode

    @property
    def operations(self) -> list[OperationDefinitionNode]:
        """The operation definitions in this file."""
        return [d for d in self.document.definitions if isinstance(d, OperationDefinitionNode)]

    @property
    def fragments(self) -> list[FragmentDefinitionNode]:
        """The fragment definitions in this file."""
        return [d for d in self.document.definitions if isinstance(d, FragmentDefinitionNode)]


def query_files(queries_dir: Path) -> list[Path]:
    """Every query file under ``queries_dir``, in ariadne-codegen's order."""
    if not queries_dir.is_dir():
        raise QueryError(f"queries directory {queries_dir} does not exist")
    return sorted(p for p in queries_dir.glob("**/*") if p.suffix in QUERY_SUFFIXES)


def load_operations(queries_dir: Path) -> tuple[list[OperationFile], list[QueryProblem]]:
    """Parse every query file; syntax errors and naming problems come back as problems."""
    files: list[OperationFile] = []
    problems: list[QueryProblem] = []
    for path in query_files(queries_dir):
        display = _display(path)
        source = Source(path.read_text(encoding="utf-8"), display)
        try:
            document = parse(source)
        except GraphQLSyntaxError as exc:
            problems.extend(_problems(exc, {}))
            continue
        files.append(OperationFile(path, display, document))
    problems.extend(_naming_problems(files))
    return files, problems


def validate_operations(
    schema: GraphQLSchema, files: Sequence[OperationFile]
) -> list[QueryProblem]:
    """Validate each file (with every file's fragments in scope) against ``schema``."""
    fragments = [f for file in files for f in file.fragments]
    problems: list[QueryProblem] = []
    for file in files:
        own = set(map(id, file.fragments))
        others = tuple(f for f in fragments if id(f) not in own)
        document = DocumentNode(definitions=(*file.document.definitions, *others))
        for error in validate(schema, document, VALIDATION_RULES):
            problems.extend(_problems(error, _spans(file)))
    return problems


def check_queries(schema: GraphQLSchema, queries_dir: Path) -> list[OperationFile]:
    """Load and validate ``queries_dir``; raise :class:`QueryError` listing every problem."""
    files, problems = load_operations(queries_dir)
    problems += validate_operations(schema, files)
    if problems:
        listing = "\n".join(f"  {problem}" for problem in problems)
        raise QueryError(f"{len(problems)} problem(s) in {_display(queries_dir)}:\n{listing}")
    return files


def _naming_problems(files: Iterable[OperationFile]) -> list[QueryProblem]:
    # One named operation per file, named like the file: the generated method and module
    # names come from the operation name, so a clash would silently overwrite a module.
    problems: list[QueryProblem] = []
    seen: dict[str, str] = {}
    for file in files:
        for operation in file.operations:
            line, column = _position(operation)
            if operation.name is None:
                problems.append(QueryProblem(file.display, line, column, None, "unnamed operation"))
                continue
            name = operation.name.value
            if name in seen:
                message = f"operation name {name!r} is also used in {seen[name]}"
                problems.append(QueryProblem(file.display, line, column, name, message))
            seen.setdefault(name, file.display)
        if len(file.operations) > 1:
            message = "a query file must hold one operation"
            problems.append(QueryProblem(file.display, 1, 1, None, message))
    return problems


def _spans(file: OperationFile) -> dict[str, tuple[int, int, str]]:
    spans: dict[str, tuple[int, int, str]] = {}
    for definition in (*file.operations, *file.fragments):
        if definition.loc is not None and definition.name is not None:
            kind = "fragment " if isinstance(definition, FragmentDefinitionNode) else ""
            label = kind + definition.name.value
            spans[label] = (definition.loc.start, definition.loc.end, definition.loc.source.name)
    return spans


def _problems(error: GraphQLError, spans: dict[str, tuple[int, int, str]]) -> list[QueryProblem]:
    located: list[QueryProblem] = []
    for node in error.nodes or ():
        if node.loc is None:
            continue
        source_name = node.loc.source.name
        line, column = _position(node)
        owner = next(
            (
                label
                for label, (start, end, name) in spans.items()
                if name == source_name and start <= node.loc.start < end
            ),
            None,
        )
        located.append(QueryProblem(source_name, line, column, owner, error.message))
        break  # the first node is where the problem is; the rest are context
    if not located and error.source is not None and error.locations:
        first = error.locations[0]
        located.append(
            QueryProblem(error.source.name, first.line, first.column, None, error.message)
        )
    if not located:
        located.append(QueryProblem("<queries>", 0, 0, None, error.message))
    return located


def _position(node: Node) -> tuple[int, int]:
    if node.loc is None:
        return 0, 0
    location = node.loc.source.get_location(node.loc.start)
    return location.line, location.column


def _display(path: Path) -> str:
    # Relative to the cwd when that is shorter: editors and CI annotate file:line links.
    try:
        relative = os.path.relpath(path, Path.cwd())
    except ValueError:
        return str(path)
    return relative if not relative.startswith("../..") else str(path)


def validate_queries(
    schema_path: Path | None = None, queries_dir: Path | None = None, *, project: Path | None = None
) -> list[QueryProblem]:
    """Every problem of the project's (or the given) queries against its (or the given) schema."""
    from turnmeter.schema_tools.project import load_project
    from turnmeter.schema_tools.store import load_schema

    if schema_path is None or queries_dir is None:
        proj = load_project(project)
        schema_path = schema_path or proj.schema_file
        queries_dir = queries_dir or proj.queries_dir
    files, problems = load_operations(queries_dir)
    return problems + validate_operations(load_schema(schema_path, strict=True), files)
