"""What an operation selects under its dataset node (TURN's ``callsTurnUsageAdaptiveGroups`` or the
SFU's ``callsUsageAdaptiveGroups``): the decoders' input.

The leaves' Cloudflare scalars and nullability come from the pruned schema, and operation texts
from ``queries/``: nothing here restates the schema.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from graphql import FieldNode, GraphQLObjectType, OperationDefinitionNode, get_named_type, parse
from graphql import GraphQLNonNull as NonNull
from graphql import GraphQLScalarType as ScalarType

from turnmeter.decode.documents import DATASET_FIELDS, turn_schema
from turnmeter.decode.scalars import (
    BOOL_SCALARS,
    FLOAT_SCALARS,
    INT_RANGES,
    TEXT_SCALARS,
    TIME_SCALARS,
)
from turnmeter.errors import QueryError
from turnmeter.resources import query_text

#: Every scalar the decoders can check.
DECODABLE_SCALARS = (
    frozenset(INT_RANGES) | TEXT_SCALARS | TIME_SCALARS | FLOAT_SCALARS | BOOL_SCALARS
)


@dataclass(frozen=True, slots=True)
class Leaf:
    """One selected scalar under a group: its response path, Cloudflare scalar and nullability."""

    path: tuple[str, ...]
    scalar: str
    nullable: bool


@dataclass(frozen=True, slots=True)
class Shape:
    """What one operation selects: the groups field's response key and every leaf under it."""

    groups_key: str
    leaves: tuple[Leaf, ...]


@functools.cache
def operation_text(name: str) -> str:
    """The text of ``queries/<name>.graphql``, the same operation the generated client sends."""
    return query_text(name)


@functools.cache
def shape_of(query: str, operation: str) -> Shape:
    """The leaves ``operation`` selects under ``viewer.accounts.callsTurnUsageAdaptiveGroups``."""
    node = next(
        (
            d
            for d in parse(query).definitions
            if isinstance(d, OperationDefinitionNode) and d.name and d.name.value == operation
        ),
        None,
    )
    if node is None:
        raise QueryError(f"no operation named {operation!r} in the query text")
    viewer = _child(node.selection_set.selections, "viewer")
    accounts = _child(_selections(viewer), "accounts")
    groups = _dataset_child(_selections(accounts))
    # The group type of whichever dataset it is (TURN's or the SFU's), from the schema.
    account_type = turn_schema().get_type("account")
    assert isinstance(account_type, GraphQLObjectType)
    schema_type = get_named_type(account_type.fields[groups.name.value].type)
    assert isinstance(schema_type, GraphQLObjectType)
    leaves = tuple(_leaves(_selections(groups), schema_type, ()))
    return Shape(groups_key=_key(groups), leaves=leaves)


def _selections(node: FieldNode) -> Sequence[Any]:
    if node.selection_set is None:
        raise QueryError(f"{node.name.value} selects no fields")
    return node.selection_set.selections


def _child(selections: Sequence[Any], name: str) -> FieldNode:
    found = [s for s in selections if isinstance(s, FieldNode) and s.name.value == name]
    if len(found) != 1:
        raise QueryError(f"the fast path needs exactly one {name!r} field (no fragments)")
    return found[0]


def _dataset_child(selections: Sequence[Any]) -> FieldNode:
    found = [s for s in selections if isinstance(s, FieldNode) and s.name.value in DATASET_FIELDS]
    if len(found) != 1:
        raise QueryError("the fast path needs exactly one dataset field (no fragments)")
    return found[0]


def _key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


def _leaves(
    selections: Sequence[Any], parent: GraphQLObjectType, prefix: tuple[str, ...]
) -> list[Leaf]:
    leaves: list[Leaf] = []
    for selection in selections:
        if not isinstance(selection, FieldNode):
            raise QueryError("the fast path does not decode fragments")
        field = parent.fields.get(selection.name.value)
        if field is None:
            raise QueryError(f"{selection.name.value!r} is not a field of {parent.name}")
        path = (*prefix, _key(selection))
        inner = field.type.of_type if isinstance(field.type, NonNull) else field.type
        if isinstance(inner, ScalarType):
            if inner.name not in DECODABLE_SCALARS:  # refuse unknown scalars now, not per row
                raise QueryError(f"the fast path has no decoder for the scalar {inner.name!r}")
            nullable = not isinstance(field.type, NonNull)
            leaves.append(Leaf(path, inner.name, nullable))
        elif isinstance(inner, GraphQLObjectType):
            leaves.extend(_leaves(_selections(selection), inner, path))
        else:
            raise QueryError(f"the fast path does not decode lists or unions ({'.'.join(path)})")
    return leaves
