"""Prune Cloudflare's full Analytics schema to the Realtime subgraph turnmeter is built against.

The subgraph is TURN's dataset (``callsTurnUsageAdaptiveGroups``) and the SFU's
(``callsUsageAdaptiveGroups``), each with its ``settings`` entry.

Input is either SDL (Cloudflare's dump) or introspection JSON (what a live pull returns). Both
paths walk only what is reachable from :data:`ROOT_FIELDS`, drop Cloudflare's descriptions,
and print the result in a canonical, sorted form, so the same schema always gives the same
bytes whichever format it came in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar, cast

import orjson
from graphql import (
    DocumentNode,
    GraphQLSchema,
    NamedTypeNode,
    TypeNode,
    build_ast_schema,
    build_client_schema,
    lexicographic_sort_schema,
    parse,
    print_schema,
)
from graphql.language import (
    EnumTypeDefinitionNode,
    FieldDefinitionNode,
    InputObjectTypeDefinitionNode,
    InputValueDefinitionNode,
    ObjectTypeDefinitionNode,
    TypeDefinitionNode,
)

from turnmeter.errors import SchemaError
from turnmeter.schema_tools.sdl_index import Definition, index_definitions

D = TypeVar("D")
T = TypeVar("T")

ROOT_TYPE = "Query"

#: Object types whose fields are restricted; every other reachable type is kept whole.
ROOT_FIELDS: Mapping[str, frozenset[str]] = {
    "Query": frozenset({"cost", "viewer"}),
    "viewer": frozenset({"accounts", "budget"}),
    "account": frozenset({"callsTurnUsageAdaptiveGroups", "callsUsageAdaptiveGroups", "settings"}),
    "AccountSettings": frozenset({"callsTurnUsageAdaptiveGroups", "callsUsageAdaptiveGroups"}),
}


def is_introspection(text: str) -> bool:
    """True when ``text`` is introspection JSON rather than SDL."""
    return text.lstrip()[:1] == "{"


def prune_text(text: str, *, strict: bool = True) -> GraphQLSchema:
    """Prune a full schema given as SDL or introspection JSON.

    ``strict=False`` tolerates missing root fields (a diff must report a removed TURN field,
    not fail on it); ``schema prune`` and ``generate`` stay strict.
    """
    if is_introspection(text):
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise SchemaError(f"schema input is not valid JSON: {exc}") from exc
        if not isinstance(data, Mapping):
            raise SchemaError("introspection JSON is not an object")
        return prune_introspection(data, strict=strict)
    return prune_sdl(text, strict=strict)


def render(schema: GraphQLSchema) -> str:
    """The canonical SDL of a pruned schema: types and fields sorted, no descriptions."""
    return print_schema(lexicographic_sort_schema(schema)) + "\n"


# --- SDL path ---------------------------------------------------------------------------------


def prune_sdl(sdl: str, *, strict: bool = True) -> GraphQLSchema:
    """Prune SDL by parsing only the reachable definitions."""
    index = index_definitions(sdl)

    def pruned(name: str, definition: Definition) -> TypeDefinitionNode:
        return _restrict_fields(_strip_descriptions(_parse_one(definition.text, name)), strict)

    kept = _reachable(index.get, pruned, _referenced_names)
    document = DocumentNode(definitions=tuple(kept[name] for name in sorted(kept)))
    return build_ast_schema(document)


def _reachable(
    definition_of: Callable[[str], D | None],
    pruned: Callable[[str, D], T],
    references: Callable[[T], Iterable[str]],
) -> dict[str, T]:
    """Every non-builtin type reachable from the root, pruned (one walk for SDL and JSON)."""
    kept: dict[str, T] = {}
    pending = [ROOT_TYPE]
    while pending:
        name = pending.pop()
        if name in kept or _is_builtin(name):
            continue
        definition = definition_of(name)
        if definition is None:
            raise SchemaError(f"schema input has no definition for type {name!r}")
        kept[name] = pruned(name, definition)
        pending.extend(references(kept[name]))
    return kept


def _parse_one(text: str, name: str) -> TypeDefinitionNode:
    try:
        node = parse(text, no_location=True).definitions[0]
    except Exception as exc:  # graphql-core raises GraphQLSyntaxError; keep the name in view
        raise SchemaError(f"cannot parse the definition of {name!r}: {exc}") from exc
    if not isinstance(node, TypeDefinitionNode):
        raise SchemaError(f"{name!r} is not a type definition")
    return node


def _strip_descriptions(node: TypeDefinitionNode) -> TypeDefinitionNode:
    fields = getattr(node, "fields", None)
    values = getattr(node, "values", None)
    updates: dict[str, Any] = {"description": None}
    if fields is not None:
        updates["fields"] = tuple(_strip_field(field) for field in fields)
    if values is not None:
        updates["values"] = tuple(_replace(value, description=None) for value in values)
    return cast(TypeDefinitionNode, _replace(node, **updates))


def _strip_field(field: Any) -> Any:
    arguments = getattr(field, "arguments", None)
    if arguments is None:
        return _replace(field, description=None)
    stripped = tuple(_replace(argument, description=None) for argument in arguments)
    return _replace(field, description=None, arguments=stripped)


def _restrict_fields(node: TypeDefinitionNode, strict: bool) -> TypeDefinitionNode:
    wanted = ROOT_FIELDS.get(node.name.value)
    if wanted is None or not isinstance(node, ObjectTypeDefinitionNode):
        return node
    fields = tuple(field for field in node.fields or () if field.name.value in wanted)
    missing = wanted - {field.name.value for field in fields}
    if missing and strict:
        raise SchemaError(f"type {node.name.value!r} lacks field(s) {sorted(missing)}")
    return cast(TypeDefinitionNode, _replace(node, fields=fields))


def _referenced_names(node: TypeDefinitionNode) -> Iterator[str]:
    if isinstance(node, ObjectTypeDefinitionNode):
        for field in node.fields or ():
            yield from _field_type_names(field)
    elif isinstance(node, InputObjectTypeDefinitionNode):
        for value in node.fields or ():
            yield _named(value.type)
    elif not isinstance(node, EnumTypeDefinitionNode):
        for field in getattr(node, "fields", None) or ():
            yield from _field_type_names(field)


def _field_type_names(field: FieldDefinitionNode | InputValueDefinitionNode) -> Iterator[str]:
    yield _named(field.type)
    for argument in getattr(field, "arguments", None) or ():
        yield _named(argument.type)


def _named(type_node: TypeNode) -> str:
    while not isinstance(type_node, NamedTypeNode):
        type_node = type_node.type  # type: ignore[attr-defined]
    return type_node.name.value


def _replace(node: Any, **updates: Any) -> Any:
    clone = node.__copy__()
    for key, value in updates.items():
        setattr(clone, key, value)
    return clone


def _is_builtin(name: str) -> bool:
    return name in {"String", "Int", "Float", "Boolean", "ID"} or name.startswith("__")


# --- introspection JSON path ------------------------------------------------------------------


def prune_introspection(data: Mapping[str, Any], *, strict: bool = True) -> GraphQLSchema:
    """Prune an introspection result (``{"data": {"__schema": ...}}`` or ``{"__schema": ...}``)."""
    root = data.get("data", data)
    schema = root.get("__schema") if isinstance(root, Mapping) else None
    if not isinstance(schema, Mapping) or not isinstance(schema.get("types"), list):
        raise SchemaError("introspection JSON has no __schema.types")
    types = {entry["name"]: entry for entry in schema["types"] if isinstance(entry, Mapping)}
    kept = _reachable(
        types.get,
        lambda _name, entry: _restricted_entry(_strip_entry(entry), strict),
        _entry_references,
    )
    builtins = [entry for name, entry in types.items() if _is_builtin(name)]
    directives = [d for d in schema.get("directives") or () if d.get("name") == "deprecated"]
    introspection = {
        "__schema": {
            "queryType": {"name": ROOT_TYPE},
            "mutationType": None,
            "subscriptionType": None,
            "types": [kept[name] for name in sorted(kept)] + builtins,
            "directives": [_strip_entry(d) for d in directives],
        }
    }
    try:
        return build_client_schema(introspection)  # type: ignore[arg-type]
    except (TypeError, KeyError, ValueError) as exc:
        raise SchemaError(f"introspection JSON is malformed: {exc}") from exc


def _strip_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    clone: dict[str, Any] = {key: value for key, value in entry.items() if key != "description"}
    clone["description"] = None
    for key in ("fields", "inputFields", "args", "enumValues"):
        if isinstance(clone.get(key), list):
            clone[key] = [_strip_entry(item) for item in clone[key]]
    return clone


def _restricted_entry(entry: dict[str, Any], strict: bool) -> dict[str, Any]:
    wanted = ROOT_FIELDS.get(entry["name"])
    if wanted is None:
        return entry
    fields = [field for field in entry.get("fields") or () if field["name"] in wanted]
    missing = wanted - {field["name"] for field in fields}
    if missing and strict:
        raise SchemaError(f"type {entry['name']!r} lacks field(s) {sorted(missing)}")
    return {**entry, "fields": fields}


def _entry_references(entry: Mapping[str, Any]) -> Iterator[str]:
    for field in list(entry.get("fields") or ()) + list(entry.get("inputFields") or ()):
        yield _ref_name(field["type"])
        for argument in field.get("args") or ():
            yield _ref_name(argument["type"])


def _ref_name(ref: Mapping[str, Any]) -> str:
    while ref.get("ofType") is not None:
        ref = ref["ofType"]
    return str(ref["name"])
