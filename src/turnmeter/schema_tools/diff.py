"""``schema diff OLD NEW``: what a schema change means for the operations in ``queries/``.

Both inputs are pruned with the same walk first (milliseconds, even for the 2.8 MB dump), so
graphql-core's breaking and dangerous changes are computed on the Realtime (TURN and SFU)
subgraph only; each is then kept or set aside depending on whether an operation reaches it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from graphql import (
    BreakingChangeType,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    find_breaking_changes,
    find_dangerous_changes,
    print_schema,
    specified_directives,
)

from turnmeter.schema_tools.project import Project, load_project
from turnmeter.schema_tools.reach import Reach, codegen_signature, reach
from turnmeter.schema_tools.report import DiffReport, OperationImpact, SchemaChange
from turnmeter.schema_tools.store import load_schema
from turnmeter.schema_tools.validate import OperationFile, load_operations, validate_operations

SchemaInput = GraphQLSchema | Path | str
#: graphql-core messages name the changed thing first; what follows "from" is old/new types.
_SUBJECT_END = re.compile(r" (?:has )?changed (?:type |defaultValue )?from ")
_TOKEN = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?")
_ARG = re.compile(r" arg (\w+)")


def diff_schemas(
    old: SchemaInput,
    new: SchemaInput,
    *,
    project: Project | Path | str | None = None,
    queries_dir: Path | None = None,
) -> DiffReport:
    """Compare two schemas (SDL or JSON, full or pruned) for the operations in ``queries/``."""
    proj = project if isinstance(project, Project) else load_project(project)
    old_schema, new_schema = _schema(old), _schema(new)
    files, problems = load_operations(queries_dir or proj.queries_dir)
    operations = [(f, op) for f in files for op in f.operations if op.name is not None]
    impacts = _impacts(new_schema, files, operations)
    valid = {impact.name for impact in impacts if impact.valid}
    reaches = {
        op.name.value: _merge(reach(old_schema, op), reach(new_schema, op))
        for _, op in operations
        if op.name is not None
    }
    report = _Classified()
    if print_schema(old_schema) != print_schema(new_schema):
        _classify(report, old_schema, new_schema, reaches, valid)
        report.additions.extend(_additions(old_schema, new_schema))
        report.codegen.extend(
            _codegen_changes(old_schema, new_schema, operations, valid, proj.scalar_types())
        )
    impacts += [OperationImpact("<syntax>", p.file, False, (str(p),)) for p in problems]
    return DiffReport(
        old=_label(old),
        new=_label(new),
        operations=tuple(impacts),
        breaking=tuple(report.breaking),
        type_changes=tuple(report.type_changes),
        codegen=tuple(report.codegen),
        dangerous=tuple(report.dangerous),
        additions=tuple(report.additions),
        elsewhere=tuple(report.elsewhere),
    )


class _Classified:
    def __init__(self) -> None:
        self.breaking: list[SchemaChange] = []
        self.type_changes: list[SchemaChange] = []
        self.codegen: list[SchemaChange] = []
        self.dangerous: list[SchemaChange] = []
        self.additions: list[SchemaChange] = []
        self.elsewhere: list[SchemaChange] = []


def _schema(value: SchemaInput) -> GraphQLSchema:
    schema = value if isinstance(value, GraphQLSchema) else load_schema(value, strict=False)
    return _with_specified_directives(schema)


def _with_specified_directives(schema: GraphQLSchema) -> GraphQLSchema:
    """``schema`` with GraphQL's built-in directives (``@include``, ``@skip``, ...).

    An SDL file gets them from graphql-core; an introspection answer may leave some out. Every
    server has them, so a diff of SDL against JSON must not report them removed.
    """
    present = {directive.name for directive in schema.directives}
    missing = [d for d in specified_directives if d.name not in present]
    if not missing:
        return schema
    settings = schema.to_kwargs()
    settings["directives"] = (*schema.directives, *missing)
    return GraphQLSchema(**settings)


def _label(value: SchemaInput) -> str:
    return "<schema>" if isinstance(value, GraphQLSchema) else str(value)


def _impacts(
    schema: GraphQLSchema,
    files: Sequence[OperationFile],
    operations: Sequence[tuple[OperationFile, object]],
) -> list[OperationImpact]:
    try:
        problems = validate_operations(schema, files)
    except TypeError as exc:  # graphql-core's assert_valid_schema: NEW itself is broken
        message = f"the new schema is not a valid schema: {exc}"
        return [OperationImpact(_name(op), f.display, False, (message,)) for f, op in operations]
    by_operation: dict[str, list[str]] = defaultdict(list)
    for problem in problems:
        by_operation[problem.operation or problem.file].append(str(problem))
    return [
        OperationImpact(
            _name(op), f.display, not by_operation[_name(op)], tuple(by_operation[_name(op)])
        )
        for f, op in operations
    ]


def _name(operation: object) -> str:
    name = getattr(operation, "name", None)
    return str(name.value) if name is not None else "<unnamed>"


def _merge(first: Reach, second: Reach) -> Reach:
    return Reach(
        fields=first.fields | second.fields,
        arguments=first.arguments | second.arguments,
        types=first.types | second.types,
        variable_types=first.variable_types | second.variable_types,
    )


def _classify(
    report: _Classified,
    old: GraphQLSchema,
    new: GraphQLSchema,
    reaches: Mapping[str, Reach],
    valid: set[str],
) -> None:
    for change in find_breaking_changes(old, new):
        touched = tuple(
            name for name, r in reaches.items() if _touches(change.description, r, old, new)
        )
        entry = SchemaChange(change.type.name, change.description, touched)
        if not touched:
            report.elsewhere.append(entry)
        elif _is_output_type_change(change.type, change.description, old) and valid.issuperset(
            touched
        ):
            report.type_changes.append(entry)
        else:
            report.breaking.append(entry)
    for dangerous in find_dangerous_changes(old, new):
        touched = tuple(
            name for name, r in reaches.items() if _touches(dangerous.description, r, old, new)
        )
        entry = SchemaChange(dangerous.type.name, dangerous.description, touched)
        (report.dangerous if touched else report.elsewhere).append(entry)


def _touches(description: str, found: Reach, old: GraphQLSchema, new: GraphQLSchema) -> bool:
    subject = _SUBJECT_END.split(description, maxsplit=1)[0]
    argument = _ARG.search(subject)
    for token in _TOKEN.findall(subject):
        if "." in token:
            owner = token.split(".", 1)[0]
            if token in found.fields:
                if argument and not subject.startswith("A required arg"):
                    return f"{token}({argument.group(1)})" in found.arguments
                return True
            # A field of an input object or enum we use: our generated model carries all of them.
            if owner in found.types and _is_input_like(owner, old, new):
                return True
        elif token in found.types and (old.get_type(token) or new.get_type(token)):
            return True
    return False


def _is_input_like(name: str, old: GraphQLSchema, new: GraphQLSchema) -> bool:
    named = old.get_type(name) or new.get_type(name)
    return isinstance(named, GraphQLInputObjectType | GraphQLEnumType | GraphQLScalarType)


def _is_output_type_change(kind: BreakingChangeType, description: str, old: GraphQLSchema) -> bool:
    if kind is not BreakingChangeType.FIELD_CHANGED_KIND:
        return False
    owner = description.split(".", 1)[0]
    return isinstance(old.get_type(owner), GraphQLObjectType | GraphQLInterfaceType)


def _additions(old: GraphQLSchema, new: GraphQLSchema) -> Iterable[SchemaChange]:
    for name, named in sorted(new.type_map.items()):
        before = old.type_map.get(name)
        if name.startswith("__") or before is None or type(before) is not type(named):
            continue
        if isinstance(named, GraphQLObjectType | GraphQLInputObjectType):
            added = sorted(set(named.fields) - set(before.fields))  # type: ignore[attr-defined]
            kind = "FIELD_ADDED" if isinstance(named, GraphQLObjectType) else "INPUT_FIELD_ADDED"
            for field_name in added:
                yield SchemaChange(kind, f"{name}.{field_name}: {named.fields[field_name].type}")
        elif isinstance(named, GraphQLEnumType):
            for value in sorted(set(named.values) - set(before.values)):  # type: ignore[attr-defined]
                yield SchemaChange("ENUM_VALUE_ADDED", f"{name}.{value}")


def _codegen_changes(
    old: GraphQLSchema,
    new: GraphQLSchema,
    operations: Sequence[tuple[OperationFile, object]],
    valid: set[str],
    scalars: Mapping[str, str],
) -> list[SchemaChange]:
    touched: dict[str, list[str]] = defaultdict(list)
    for _, op in operations:
        name = _name(op)
        if name not in valid:
            continue  # a broken operation is reported as breaking, not as a type change
        before = codegen_signature(old, op, scalars)  # type: ignore[arg-type]
        after = codegen_signature(new, op, scalars)  # type: ignore[arg-type]
        for key in sorted(before.keys() | after.keys()):
            if before.get(key) != after.get(key):
                touched[_describe(key, before.get(key), after.get(key), old, new)].append(name)
    return [SchemaChange("CODEGEN", message, tuple(ops)) for message, ops in touched.items()]


def _describe(
    key: str, before: str | None, after: str | None, old: GraphQLSchema, new: GraphQLSchema
) -> str:
    if key.startswith("enum "):
        old_values, new_values = set((before or "").split(" | ")), set((after or "").split(" | "))
        added = ", ".join(sorted(new_values - old_values - {""}))
        removed = ", ".join(sorted(old_values - new_values - {""}))
        return f"{key}: " + "; ".join(
            part
            for part in (f"+ {added}" if added else "", f"- {removed}" if removed else "")
            if part
        )
    schema_types = f" (schema: {_graphql_type(key, old)} -> {_graphql_type(key, new)})"
    return f"{key}: {before or '(absent)'} -> {after or '(absent)'}{schema_types}"


def _graphql_type(key: str, schema: GraphQLSchema) -> str:
    type_name, _, field_name = key.removeprefix("input ").partition(".")
    named = schema.get_type(type_name)
    fields = getattr(named, "fields", None) or {}
    return str(fields[field_name].type) if field_name in fields else "absent"
