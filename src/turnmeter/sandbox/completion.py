"""Completing the TURN node's groups without graphql-core's per-field walk.

graphql-core completes every leaf of every group through several Python calls (resolve info,
argument values, type checks): for a 10,000-group answer that is most of the request. The
groups' shape is fixed by the selection set, so :class:`GroupsExecutionContext` reads it once
(aliases, fragments, ``@skip``/``@include`` and ``__typename`` included, through graphql-core's
own ``collect_sub_fields``) and builds each group with the same scalar serializers.

When the selection is scalar leaves only and the resolver left the groups unread
(:class:`.PendingGroups`), SQLite writes them as JSON itself (see json_groups.py).

Anything the plan does not cover (the ALPHA ``confidence`` block, a null leaf, a value a
serializer refuses) makes it give up on that node before anything is sent, and graphql-core
completes the node as before: its errors and paths stay exactly graphql-core's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from graphql import (
    FieldNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
)
from graphql.execution import ExecutionContext
from graphql.execution.collect_fields import collect_sub_fields
from graphql.pyutils import Path

from turnmeter.sandbox import json_groups
from turnmeter.sandbox.json_groups import JsonText, PendingGroups

#: Blocks of a group the plan can build: graphql-core's default resolver reads them as keys.
_BLOCKS = frozenset(("dimensions", "sum", "avg"))
#: Scalars whose serialized value is worth remembering within one answer (time buckets repeat).
_MEMOISED = frozenset(("Time", "Date"))
#: Scalars whose values, as the store builds them, the JSON encoder writes exactly as their
#: serializer would (replies.encode: whole-second UTC datetimes as ``...Z``, dates as
#: ``YYYY-MM-DD``, strings, and int64 which every SQLite integer is). uint64 is not among them:
#: a negative sum must still fail as graphql-core fails it.
PASSED_THROUGH = frozenset(("Time", "Date", "string", "int64"))

#: (response key, field name or None for __typename, serializer: of the value, or for
#: __typename of None)
Leaf = tuple[str, str | None, Callable[[Any], Any]]
#: (response key, block name or None for the group's __typename, leaves)
Block = tuple[str, str | None, tuple[Leaf, ...]]


class _Unplannable(Exception):
    """The selection holds something the plan does not build."""


class GroupsExecutionContext(ExecutionContext):
    """graphql-core's executor, completing ``callsTurnUsageAdaptiveGroups`` lists by plan."""

    turn_field = "callsTurnUsageAdaptiveGroups"

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_nodes: list[FieldNode],
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
    ) -> Any:
        if info.field_name == self.turn_field and isinstance(result, PendingGroups):
            written = _written_by_sql(self, return_type, field_nodes, result)
            if written is not None:
                return written
            result = result.groups()
        if info.field_name == self.turn_field and isinstance(result, list):
            completed = _complete_by_plan(self, return_type, field_nodes, result)
            if completed is not None:
                return completed
        return super().complete_value(return_type, field_nodes, info, path, result)


def _written_by_sql(
    context: ExecutionContext,
    return_type: GraphQLOutputType,
    field_nodes: list[FieldNode],
    pending: PendingGroups,
) -> JsonText | None:
    """The groups as SQLite writes them, or None when the general path must build them."""
    group_type = _list_item_type(return_type)
    if group_type is None:
        return None
    try:
        blocks = json_groups.shape(
            group_type, _plan(context, group_type, field_nodes), pending.query
        )
    except Exception:  # anything the plan does not cover: the general path decides
        return None
    try:
        text = pending.store.group_json(pending.query, json_groups.projection(blocks))
    except sqlite3.Error:  # (no JSON functions, say): the plain statement decides what fails
        return None
    return None if text is None else JsonText(text)


def _complete_by_plan(
    context: ExecutionContext,
    return_type: GraphQLOutputType,
    field_nodes: list[FieldNode],
    groups: Sequence[dict[str, Any]],
) -> list[dict[str, Any]] | None:
    group_type = _list_item_type(return_type)
    if group_type is None:
        return None
    try:
        plan = _plan(context, group_type, field_nodes)
        if _as_stored(plan, group_type, groups):
            # The store's own block dicts are the answer: same keys, same order, same values.
            return [{key: group[block] for key, block, _ in plan} for group in groups]  # type: ignore[index]
        return _build(group_type.name, plan, groups)
    except Exception:  # a serializer refused a value, a null leaf, ...: graphql-core decides
        return None


def _as_stored(
    plan: tuple[Block, ...], group_type: GraphQLObjectType, groups: Sequence[dict[str, Any]]
) -> bool:
    """Whether every block of ``plan`` is a stored block as it stands: no alias, no
    ``__typename``, fields in the store's order, every leaf a :data:`PASSED_THROUGH` scalar."""
    if not groups:
        return False
    first = groups[0]
    for key, block, leaves in plan:
        if block is None or key != block:
            return False
        stored = first[block]
        if [name for _, name, _ in leaves] != list(stored) or any(
            leaf_key != name for leaf_key, name, _ in leaves
        ):
            return False
        block_type = _nullable(group_type.fields[block].type)
        for name in stored:
            if _nullable(block_type.fields[name].type).name not in PASSED_THROUGH:
                return False
    return True


def _list_item_type(return_type: GraphQLOutputType) -> GraphQLObjectType | None:
    inner = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
    if not isinstance(inner, GraphQLList):
        return None
    item = inner.of_type
    item = item.of_type if isinstance(item, GraphQLNonNull) else item
    return item if isinstance(item, GraphQLObjectType) else None


def _collect(
    context: ExecutionContext, parent: GraphQLObjectType, nodes: list[FieldNode]
) -> dict[str, list[FieldNode]]:
    return collect_sub_fields(
        context.schema, context.fragments, context.variable_values, parent, nodes
    )


def _plan(
    context: ExecutionContext, group_type: GraphQLObjectType, field_nodes: list[FieldNode]
) -> tuple[Block, ...]:
    blocks: list[Block] = []
    for key, nodes in _collect(context, group_type, field_nodes).items():
        name = nodes[0].name.value
        if name == "__typename":
            blocks.append((key, None, ()))
            continue
        if name not in _BLOCKS:
            raise _Unplannable(name)
        block_type = _nullable(group_type.fields[name].type)
        if not isinstance(block_type, GraphQLObjectType):
            raise _Unplannable(name)
        leaves = tuple(
            _leaf(k, n[0], block_type) for k, n in _collect(context, block_type, nodes).items()
        )
        blocks.append((key, name, leaves))
    return tuple(blocks)


def _leaf(key: str, node: FieldNode, parent: GraphQLObjectType) -> Leaf:
    name = node.name.value
    if name == "__typename":
        return (key, None, _constant(parent.name))
    field_type = parent.fields[name].type
    scalar = _nullable(field_type)
    if not isinstance(scalar, GraphQLScalarType):
        raise _Unplannable(name)
    serialize: Callable[[Any], Any] = scalar.serialize
    try:
        serialize(None)
    except Exception:  # refusing None is what the plan relies on
        pass
    else:
        raise _Unplannable(f"{scalar.name} serializes null")  # graphql-core must judge nulls
    if scalar.name in _MEMOISED:
        serialize = _memoised(serialize)
    return (key, name, serialize)


def _constant(value: str) -> Callable[[Any], Any]:
    return lambda _: value


def _nullable(gql_type: Any) -> Any:
    return gql_type.of_type if isinstance(gql_type, GraphQLNonNull) else gql_type


def _memoised(serialize: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``serialize`` remembering its answers for this one plan (a pure function of the value)."""
    seen: dict[Any, Any] = {}

    def cached(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            text = seen[value] = serialize(value)
            return text

    return cached


def _build(
    typename: str, plan: tuple[Block, ...], groups: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    # Every serializer refuses None (the sandbox's scalars are strict), so a null leaf ends
    # the plan and graphql-core, which knows whether the field may be null, completes it.
    out: list[dict[str, Any]] = []
    append = out.append
    for group in groups:
        item: dict[str, Any] = {}
        for key, block, leaves in plan:
            if block is None:
                item[key] = typename
                continue
            values = group[block]
            item[key] = {
                leaf_key: serialize(None if name is None else values[name])
                for leaf_key, name, serialize in leaves
            }
        append(item)
    return out
