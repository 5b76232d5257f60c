"""Compile a query's shape into one GraphQL document, validated against ``schema/`` once.

gql's DSL builds the operation over the pruned schema, so a field or argument the schema lacks
cannot even be written; graphql-core's validator then checks the document, and the printed text
is cached per shape (the selected fields, in order). Values are never part of a shape: the
filter, limit and order travel as the variables ``$accountTag: string!``,
``$filter: <Filter>!``, ``$limit: uint64!`` and ``$orderBy: [<OrderBy>!]``.
"""

from __future__ import annotations

import functools
from typing import Any

from gql.dsl import DSLQuery, DSLSchema, DSLVariableDefinitions, dsl_gql
from graphql import print_ast, validate

from turnmeter.decode.documents import turn_schema
from turnmeter.errors import QueryError
from turnmeter.query.catalog import FieldSpec
from turnmeter.query.datasets import TURN, Dataset

#: The operation name every TURN DSL query is sent under (each dataset has its own).
OPERATION_NAME = TURN.operation_name
#: Distinct shapes whose compiled text is kept (each is a few hundred bytes).
DOCUMENT_CACHE_SIZE = 256


@functools.lru_cache(maxsize=DOCUMENT_CACHE_SIZE)
def document_for(fields: tuple[FieldSpec, ...], dataset: Dataset = TURN) -> str:
    """The validated query text selecting ``fields`` of ``dataset``'s node (dimension order is
    kept: it is the server's tie-breaking order)."""
    schema = turn_schema()
    ds = DSLSchema(schema)
    var = DSLVariableDefinitions()  # type: ignore[no-untyped-call]
    group_type = getattr(ds, dataset.type_name())
    blocks: list[Any] = []
    for block in ("dimensions", "sum", "avg"):
        leaves = [f for f in fields if f.block == block]
        if leaves:
            block_type = getattr(ds, dataset.type_name(block))
            selected = [getattr(block_type, f.schema) for f in leaves]
            blocks.append(getattr(group_type, block).select(*selected))
    node = getattr(ds.account, dataset.node)(
        filter=var.filter, limit=var.limit, orderBy=var.orderBy
    ).select(*blocks)
    accounts = ds.viewer.accounts(filter={"accountTag": var.accountTag}).select(node)
    operation = DSLQuery(ds.Query.viewer.select(accounts))
    operation.variable_definitions = var
    document = dsl_gql(**{dataset.operation_name: operation}).document
    problems = validate(schema, document)
    if problems:  # only a schema that lost a field gets here: regenerate or pin the schema
        raise QueryError(f"the query does not validate against schema/: {problems[0].message}")
    return print_ast(document)
