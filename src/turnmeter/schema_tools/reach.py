"""What one operation touches in a schema, and what of it shapes the generated Python code.

:func:`reach` lists the fields an operation selects, the arguments it passes and every type it
depends on. :func:`codegen_signature` renders what ariadne-codegen turns into Python for it:
selected field types, the input objects and enums its variables reach, with Cloudflare's scalars
mapped to their Python types, so two schemas can be compared for "would the generated code
change" without running the generator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLType,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Undefined,
    Visitor,
    get_named_type,
    type_from_ast,
    visit,
)

#: GraphQL's own scalars, as ariadne-codegen maps them.
BUILTIN_SCALARS = {"String": "str", "ID": "str", "Int": "int", "Float": "float", "Boolean": "bool"}


@dataclass(frozen=True, slots=True)
class Reach:
    """Coordinates an operation depends on: ``Type.field``, ``Type.field(arg)`` and type names."""

    fields: frozenset[str] = frozenset()
    arguments: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()
    variable_types: frozenset[str] = frozenset()


def reach(schema: GraphQLSchema, operation: OperationDefinitionNode) -> Reach:
    """The fields, arguments and types ``operation`` depends on in ``schema``."""
    type_info = TypeInfo(schema)
    collector = _FieldTracker(type_info)
    visit(DocumentNode(definitions=(operation,)), TypeInfoVisitor(type_info, collector))
    variable_types = {
        get_named_type(resolved).name
        for definition in operation.variable_definitions or ()
        if (resolved := type_from_ast(schema, definition.type)) is not None
    }
    types = set(collector.types) | variable_types
    closed = _input_closure(schema, types)
    return Reach(
        fields=frozenset(collector.fields),
        arguments=frozenset(collector.arguments),
        types=frozenset(closed),
        variable_types=frozenset(_input_closure(schema, variable_types)),
    )


class _FieldTracker(Visitor):
    """Records ``Type.field`` for every field and ``Type.field(arg)`` for every argument."""

    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.fields: set[str] = set()
        self.arguments: set[str] = set()
        self.types: set[str] = set()
        self._stack: list[str] = []

    def enter_field(self, node: FieldNode, *_: object) -> None:
        parent = self.type_info.get_parent_type()
        definition = self.type_info.get_field_def()
        coordinate = f"{parent.name}.{node.name.value}" if parent is not None else ""
        self._stack.append(coordinate)
        if parent is None or definition is None:
            return
        self.fields.add(coordinate)
        self.types.add(parent.name)
        self.types.add(get_named_type(definition.type).name)

    def leave_field(self, *_: object) -> None:
        self._stack.pop()

    def enter_argument(self, node: ArgumentNode, *_: object) -> None:
        argument = self.type_info.get_argument()
        if not self._stack or argument is None:
            return  # a directive's argument, or one the schema does not know
        self.arguments.add(f"{self._stack[-1]}({node.name.value})")
        self.types.add(get_named_type(argument.type).name)


def codegen_signature(
    schema: GraphQLSchema, operation: OperationDefinitionNode, scalars: Mapping[str, str]
) -> dict[str, str]:
    """What ariadne-codegen turns into Python for ``operation``: coordinate -> Python shape.

    Keys are ``Type.field`` for selected fields, ``input Type.field`` for fields of input
    objects the variables reach, and ``enum Type`` for enums; values render the Python type.
    """
    found = reach(schema, operation)
    signature: dict[str, str] = {}
    for coordinate in sorted(found.fields):
        type_name, field_name = coordinate.split(".", 1)
        owner = schema.get_type(type_name)
        if isinstance(owner, GraphQLObjectType) and field_name in owner.fields:
            signature[coordinate] = python_shape(owner.fields[field_name].type, scalars)
    enums = {name for name in found.types if isinstance(schema.get_type(name), GraphQLEnumType)}
    for name in sorted(found.variable_types | enums):
        named = schema.get_type(name)
        if isinstance(named, GraphQLInputObjectType):
            for field_name, input_field in named.fields.items():
                shape = python_shape(input_field.type, scalars)
                if input_field.default_value is not Undefined:
                    shape += f" = {input_field.default_value!r}"
                signature[f"input {name}.{field_name}"] = shape
        elif isinstance(named, GraphQLEnumType):
            signature[f"enum {name}"] = " | ".join(sorted(named.values))
    return signature


def python_shape(type_: GraphQLType, scalars: Mapping[str, str]) -> str:
    """A GraphQL type as the Python annotation ariadne-codegen would write (roughly)."""
    if isinstance(type_, GraphQLNonNull):
        return python_shape(type_.of_type, scalars).removeprefix("Optional[").removesuffix("]")
    if isinstance(type_, GraphQLList):
        return f"Optional[list[{python_shape(type_.of_type, scalars)}]]"
    if isinstance(type_, GraphQLScalarType):
        name = scalars.get(type_.name) or BUILTIN_SCALARS.get(type_.name, "Any")
        return f"Optional[{name}]"
    if isinstance(type_, GraphQLObjectType):
        return "Optional[object]"  # its own fields are separate entries
    return f"Optional[{getattr(type_, 'name', '?')}]"


def _input_closure(schema: GraphQLSchema, names: Iterable[str]) -> set[str]:
    # Input objects pull in the types of their fields (filters nest AND/OR of themselves).
    closed: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in closed:
            continue
        closed.add(name)
        named = schema.get_type(name)
        if isinstance(named, GraphQLInputObjectType):
            pending.extend(get_named_type(f.type).name for f in named.fields.values())
    return closed
