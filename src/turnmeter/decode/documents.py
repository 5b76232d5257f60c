"""What turnmeter learns once per distinct query text: its cost against Cloudflare's budget.

Cloudflare counts every dataset node in a request against the 300-per-5-minutes budget, so a
request costs the number of dataset fields it selects (TURN's ``callsTurnUsageAdaptiveGroups``
and the SFU's ``callsUsageAdaptiveGroups``; aliases and fragments included; the ``settings {
callsTurnUsageAdaptiveGroups }`` limits node is not a dataset node). A request with no dataset
node (limits, introspection) still costs 1: it is still a query to Cloudflare, and
over-counting is the safe side. Computed with graphql-core's parser once per query text and
cached. (Checking an answer's values is the decoders' job: ``row_decoding``.)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    build_schema,
    parse,
)

from turnmeter.resources import schema_text

TURN_FIELD = "callsTurnUsageAdaptiveGroups"
SFU_FIELD = "callsUsageAdaptiveGroups"
#: The dataset nodes a request pays for: TURN's and the SFU's, one query each.
DATASET_FIELDS = frozenset({TURN_FIELD, SFU_FIELD})
#: The parent field whose ``callsTurnUsageAdaptiveGroups`` child is the limits node, not data.
SETTINGS_FIELD = "settings"
#: How many distinct query texts keep their analysis (the facade has a handful).
DOCUMENT_CACHE_SIZE = 256


@dataclass(frozen=True, slots=True)
class DocumentFacts:
    """The cost of one query text."""

    cost: int


@functools.cache
def turn_schema() -> GraphQLSchema:
    """The pruned TURN schema, built once per process (about 60 ms)."""
    return build_schema(schema_text())


@functools.lru_cache(maxsize=DOCUMENT_CACHE_SIZE)
def document_facts(query: str, operation_name: str | None) -> DocumentFacts:
    """Cost of ``query``; a text that does not parse costs 1 (the server will say why)."""
    try:
        document = parse(query)
    except GraphQLError:
        return DocumentFacts(cost=1)
    operation = _operation(document, operation_name)
    if operation is None:
        return DocumentFacts(cost=1)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    cost = _count_nodes(operation.selection_set, fragments, parent=None, depth=0)
    return DocumentFacts(cost=max(1, cost))


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
