"""TURN groups written as JSON by SQLite, when the selection is scalar leaves only.

For a big answer, building a dict per group in Python and serializing it costs more than the
SQL itself. When a node selects only ``dimensions``/``sum``/``avg`` blocks of scalars (aliases,
fragments, ``@skip``/``@include`` and ``__typename`` included, as completion's plan reads
them), its statement's select list becomes one ``json_object`` per group, with the selection's
keys in the selection's order, and the answer is those texts joined: one list append per group.

The answer must be the general path's, byte for byte once encoded. SQLite escapes strings as
orjson does (the tests compare every code point), writes integers as integers, and formats the
time buckets with ``strftime``. Each row also carries a state: 0 for a group without raw rows
(none is sent, as ``decode_rows`` drops it), -1 when a value is not one SQLite writes as the
general path would (a non-integer number, a negative ``uint64``, a time outside the years
1000-9999, a non-text string, a null). One -1 sends the whole node back to the general path,
so its values and errors stay graphql-core's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphql import GraphQLNonNull, GraphQLObjectType

from turnmeter.decode.scalars import INT_RANGES
from turnmeter.sandbox.sql import GroupQuery, Projection

if TYPE_CHECKING:
    from turnmeter.sandbox.store import UsageStore

#: Epoch seconds of 1000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: between them, SQLite's
#: strftime, Python's and orjson's write the same four-digit years.
FIRST_SECOND, LAST_SECOND = -30_610_224_000, 253_402_300_799
_INT64 = INT_RANGES["int64"]
_TIME_TEXT = "strftime('%Y-%m-%dT%H:%M:%SZ', {0}, 'unixepoch')"
_DATE_TEXT = "date({0}, 'unixepoch')"

#: One member of a block's object: (response key, __typename constant or None, index of its
#: column (-1 for a constant), its scalar's name)
Member = tuple[str, str | None, int, str]
#: One member of a group's object: (response key, the group's __typename for a __typename
#: member (else None), the block's members)
BlockShape = tuple[str, str | None, tuple[Member, ...]]


class NotJson(Exception):
    """The selection holds a value SQLite would not write as the general path does."""


@dataclass
class PendingGroups:
    """A TURN node's groups, not read yet: :class:`.GroupsExecutionContext` asks SQLite for
    their JSON; any other executor iterates them (read once, as ``store.group`` builds them)."""

    store: UsageStore
    query: GroupQuery
    _groups: list[dict[str, Any]] | None = field(default=None, repr=False)

    def groups(self) -> list[dict[str, Any]]:
        """The group objects the general path completes."""
        if self._groups is None:
            self._groups = self.store.group(self.query)
        return self._groups

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.groups())

    def __len__(self) -> int:
        return len(self.groups())


class JsonText:
    """An answer's part already written as JSON: ``replies.encode`` sends it as it stands."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"JsonText({len(self.text)} characters)"


def _scalar_name(block_type: GraphQLObjectType, name: str) -> str:
    field_type = block_type.fields[name].type
    inner = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    return str(getattr(inner, "name", ""))


def written(scalar: str, column: str) -> tuple[str, str]:
    """(SQL writing the value of ``column`` as the ``scalar`` serializer would, the condition
    under which it does)."""
    if scalar in ("Time", "Date"):
        text = _TIME_TEXT if scalar == "Time" else _DATE_TEXT
        guard = (
            f"typeof({column}) = 'integer' AND {column} BETWEEN {FIRST_SECOND} AND {LAST_SECOND}"
        )
        return text.format(column), guard
    if scalar == "string":
        return column, f"typeof({column}) = 'text'"
    if scalar in INT_RANGES:
        low, high = max(INT_RANGES[scalar][0], _INT64[0]), min(INT_RANGES[scalar][1], _INT64[1])
        guard = f"typeof({column}) = 'integer'"
        if (low, high) != _INT64:
            guard += f" AND {column} BETWEEN {low} AND {high}"
        return column, guard
    raise NotJson(scalar)


def shape(
    group_type: GraphQLObjectType, plan: Sequence[tuple[str, str | None, Any]], query: GroupQuery
) -> tuple[BlockShape, ...]:
    """Completion's plan as the members each group's object holds (NotJson: it cannot)."""
    # the statement's columns: the dimensions, sums and avgs in the query's order
    selected = [
        *(("dimensions", name) for name in query.dimensions),
        *(("sum", name) for name in query.sums),
        *(("avg", name) for name in query.avgs),
    ]
    columns = {column: index for index, column in enumerate(selected)}
    blocks: list[BlockShape] = []
    for key, block, leaves in plan:
        if block is None:
            blocks.append((key, group_type.name, ()))
            continue
        block_type = group_type.fields[block].type
        block_type = block_type.of_type if isinstance(block_type, GraphQLNonNull) else block_type
        if not isinstance(block_type, GraphQLObjectType):
            raise NotJson(block)
        members: list[Member] = []
        for leaf_key, name, _ in leaves:
            if name is None:
                members.append((leaf_key, block_type.name, -1, ""))
            elif (block, name) in columns:
                scalar = _scalar_name(block_type, name)
                written(scalar, "x")  # NotJson now, for a scalar it does not write
                members.append((leaf_key, None, columns[block, name], scalar))
            else:
                raise NotJson(name)
        blocks.append((key, None, tuple(members)))
    return tuple(blocks)


def projection(blocks: tuple[BlockShape, ...]) -> Projection:
    """The select list writing each group as JSON, then its state (see the module)."""

    def project(columns: Sequence[str]) -> tuple[str, list[Any]]:
        params: list[Any] = []
        guards: dict[str, None] = {}
        parts: list[str] = []
        for key, typename, members in blocks:
            params.append(key)
            if typename is not None:
                parts.append("?, ?")
                params.append(typename)
                continue
            inner: list[str] = []
            for leaf_key, constant, index, scalar in members:
                params.append(leaf_key)
                if constant is not None:
                    inner.append("?, ?")
                    params.append(constant)
                    continue
                value, guard = written(scalar, columns[index])
                inner.append(f"?, {value}")
                guards[f"({guard})"] = None
            parts.append(f"?, json_object({', '.join(inner)})")
        count = columns[-1]
        valid = " AND ".join(guards) or "1"
        state = f"CASE WHEN NOT COALESCE({count}, 0) THEN 0 WHEN {valid} THEN 1 ELSE -1 END"
        return f"json_object({', '.join(parts)}), {state}", params

    return project
