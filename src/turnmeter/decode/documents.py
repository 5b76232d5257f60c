"""What turnmeter learns once per distinct query text: its cost and the JSON types of its leaves.

* **Cost**: Cloudflare counts every dataset node in a request against the 300-per-5-minutes
  budget, so a request costs the number of dataset fields it selects (TURN's
  ``callsTurnUsageAdaptiveGroups`` and the SFU's ``callsUsageAdaptiveGroups``)
  (aliases and fragments included; the ``settings { callsTurnUsageAdaptiveGroups }`` limits node
  is not a dataset node). A request with no dataset node (limits, introspection) still costs 1:
  it is still a query to Cloudflare, and over-counting is the safe side.
* **Leaf types**: pydantic in lax mode turns ``true`` into ``1`` and ``"12"`` into ``12``; a
  usage number must come from a JSON integer and nothing else. The plan lists each selected
  scalar's expected JSON type so :func:`check_types` can refuse anything else.

Both are computed with graphql-core's parser once per query text and cached.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    build_schema,
    get_named_type,
    parse,
)

from turnmeter.decode.scalars import (
    BOOL_SCALARS,
    FLOAT_SCALARS,
    INT_RANGES,
    TEXT_SCALARS,
    TIME_SCALARS,
)
from turnmeter.errors import MalformedResponse
from turnmeter.resources import schema_text

TURN_FIELD = "callsTurnUsageAdaptiveGroups"
SFU_FIELD = "callsUsageAdaptiveGroups"
#: The dataset nodes a request pays for: TURN's and the SFU's, one query each.
DATASET_FIELDS = frozenset({TURN_FIELD, SFU_FIELD})
#: The parent field whose ``callsTurnUsageAdaptiveGroups`` child is the limits node, not data.
SETTINGS_FIELD = "settings"
#: How many distinct query texts keep their analysis (the facade has a handful).
DOCUMENT_CACHE_SIZE = 256

#: Cloudflare scalar -> (Python type the JSON value must have, inclusive range or None).

#: A selection plan: response key -> scalar name (a leaf) or a nested plan (an object).
Plan = dict[str, "str | Plan"]


@dataclass(frozen=True, slots=True)
class DocumentFacts:
    """The cost of one query text and its leaf plan (None when it cannot be planned)."""

    cost: int
    plan: Plan | None


@functools.cache
def turn_schema() -> GraphQLSchema:
    """The pruned TURN schema, built once per process (about 60 ms)."""
    return build_schema(schema_text())


@functools.lru_cache(maxsize=DOCUMENT_CACHE_SIZE)
def document_facts(query: str, operation_name: str | None) -> DocumentFacts:
    """Cost and leaf plan of ``query``; a text that does not parse costs 1 and has no plan."""
    try:
        document = parse(query)
    except GraphQLError:
        return DocumentFacts(cost=1, plan=None)  # the server will say what is wrong with it
    operation = _operation(document, operation_name)
    if operation is None:
        return DocumentFacts(cost=1, plan=None)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    cost = _count_nodes(operation.selection_set, fragments, parent=None, depth=0)
    root = turn_schema().query_type
    plan = _plan(operation.selection_set, root, fragments, 0) if root is not None else None
    return DocumentFacts(cost=max(1, cost), plan=plan)


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    for operation in operations:
        if name is None or (operation.name is not None and operation.name.value == name):
            return operation
    return None


#: Fragments may nest; a cycle is invalid GraphQL, and this bound keeps it from recursing forever.
_MAX_DEPTH = 32


def _count_nodes(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    parent: str | None,
    depth: int,
) -> int:
    if selection_set is None or depth > _MAX_DEPTH:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            total += name in DATASET_FIELDS and parent != SETTINGS_FIELD
            total += _count_nodes(selection.selection_set, fragments, name, depth + 1)
        elif isinstance(selection, InlineFragmentNode):
            total += _count_nodes(selection.selection_set, fragments, parent, depth + 1)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            inner = fragment.selection_set if fragment else None
            total += _count_nodes(inner, fragments, parent, depth + 1)
    return total


def _plan(
    selection_set: SelectionSetNode,
    parent: GraphQLNamedType,
    fragments: dict[str, FragmentDefinitionNode],
    depth: int,
) -> Plan | None:
    # None anywhere means "this text does not match the schema": the server will refuse it.
    if not isinstance(parent, GraphQLObjectType) or depth > _MAX_DEPTH:
        return None
    plan: Plan = {}
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            if name.startswith("__"):
                continue  # introspection: not ours to check
            field = parent.fields.get(name)
            if field is None:
                return None
            named = get_named_type(field.type)
            key = selection.alias.value if selection.alias else name
            if isinstance(named, GraphQLScalarType):
                plan[key] = named.name
            elif selection.selection_set is not None:
                inner = _plan(selection.selection_set, named, fragments, depth + 1)
                if inner is None:
                    return None
                plan[key] = inner
        else:
            if isinstance(selection, InlineFragmentNode):
                inner_set: SelectionSetNode | None = selection.selection_set
            else:
                assert isinstance(selection, FragmentSpreadNode)
                fragment = fragments.get(selection.name.value)
                inner_set = fragment.selection_set if fragment else None
            inner = _plan(inner_set, parent, fragments, depth + 1) if inner_set else None
            if inner is None:
                return None
            plan.update(inner)
    return plan


def check_types(plan: Plan | None, data: Any, operation: str | None) -> None:
    """Raise :class:`MalformedResponse` if a selected leaf in ``data`` has the wrong JSON type.

    Nulls pass (nullability is the model's business); unknown keys are ignored.
    """
    if plan is None:
        return
    problem = _check(plan, data, "data")
    if problem is not None:
        raise MalformedResponse(f"{operation or 'response'}: {problem}")


def _check(plan: Plan, value: Any, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            problem = _check(plan, item, f"{where}[{index}]")
            if problem is not None:
                return problem
        return None
    if not isinstance(value, dict):
        return f"{where} should be an object, got {type(value).__name__}"
    for key, expected in plan.items():
        child = value.get(key)
        if child is None:
            continue
        path = f"{where}.{key}"
        if isinstance(expected, dict):
            problem = _check(expected, child, path)
        else:
            problem = _check_leaf(expected, child, path)
        if problem is not None:
            return problem
    return None


def _check_leaf(scalar: str, value: Any, where: str) -> str | None:
    if isinstance(value, list):
        for index, item in enumerate(value):
            problem = _check_leaf(scalar, item, f"{where}[{index}]")
            if problem is not None:
                return problem
        return None
    bounds = INT_RANGES.get(scalar)
    if bounds is not None:
        # bool is a subclass of int in Python; JSON true is not a number.
        if type(value) is not int:
            return f"{where} should be {scalar}, got JSON {_json_type(value)}"
        if not bounds[0] <= value <= bounds[1]:
            return f"{where} is out of the {scalar} range"
        return None
    if scalar in TEXT_SCALARS | TIME_SCALARS and not isinstance(value, str):
        return f"{where} should be {scalar} (a string), got JSON {_json_type(value)}"
    if scalar in FLOAT_SCALARS and (type(value) not in (int, float)):
        return f"{where} should be {scalar}, got JSON {_json_type(value)}"
    if scalar in BOOL_SCALARS and not isinstance(value, bool):
        return f"{where} should be {scalar}, got JSON {_json_type(value)}"
    return None


def _json_type(value: Any) -> str:
    names = {bool: "boolean", int: "number", float: "number", str: "string", dict: "object"}
    return names.get(type(value), "array" if isinstance(value, list) else type(value).__name__)
