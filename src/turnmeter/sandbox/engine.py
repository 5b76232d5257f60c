"""One GraphQL request, end to end: auth, parse, validate, budget, execute, Cloudflare's shape.

Every failure leaves as ``{"data": null, "errors": [{"message", "path", "extensions":
{"timestamp", "ray_id", "code"?}}]}`` with the status Cloudflare documents for it, or 200 for all
of them in ``always-200`` mode. Success is ``{"data": ..., "errors": null}`` as in Cloudflare's
own examples.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
from collections.abc import Mapping
from typing import Any

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
    execute_sync,
)
from graphql.execution import ExecutionContext
from graphql.execution.collect_fields import should_include_node

from turnmeter.resources import schema_text
from turnmeter.sandbox import guards, refusals
from turnmeter.sandbox.accounts import AccountData
from turnmeter.sandbox.completion import GroupsExecutionContext
from turnmeter.sandbox.model import SandboxConfig
from turnmeter.sandbox.prepared import cloudflare_message, prepare, raise_refusal
from turnmeter.sandbox.ratelimit import QueryBudget
from turnmeter.sandbox.refusals import Refusal
from turnmeter.sandbox.replies import Reply, error_reply
from turnmeter.sandbox.resolvers import DATASET_FIELDS, RequestScope, root_value
from turnmeter.sandbox.store import UsageStore

log = logging.getLogger("turnmeter.sandbox")


@functools.cache
def sandbox_schema() -> GraphQLSchema:
    """The committed pruned schema with Cloudflare's scalar functions installed (built once)."""
    from turnmeter.sandbox.scalars import install_scalars

    schema = build_schema(schema_text())
    install_scalars(schema)
    return schema


def count_turn_nodes(
    document: DocumentNode, operation_name: str | None, variables: Mapping[str, Any]
) -> int:
    """How many dataset nodes (TURN's and the SFU's) the chosen operation selects (each costs
    one query).

    Nodes left out by ``@skip``/``@include`` cost nothing, as they are never executed.
    """
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [
        o
        for o in operations
        if operation_name is None or (o.name and o.name.value == operation_name)
    ]
    if not chosen:
        return 0

    def included(node: FieldNode | InlineFragmentNode | FragmentSpreadNode) -> bool:
        try:
            return should_include_node(dict(variables), node)
        except GraphQLError:
            return True  # a bad directive value fails in execution; count the node anyway

    def walk(selection_set: SelectionSetNode | None) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if not included(selection):  # type: ignore[arg-type]
                continue
            if isinstance(selection, FieldNode):
                total += selection.name.value in DATASET_FIELDS
                total += walk(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                total += walk(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                total += walk(fragment.selection_set if fragment else None)
        return total

    return walk(chosen[0].selection_set)


class Engine:
    """Executes GraphQL requests against one store with one configuration and budget."""

    #: graphql-core's executor with the TURN groups completed by plan (see completion.py).
    execution_context_class: type[ExecutionContext] = GroupsExecutionContext

    def __init__(self, config: SandboxConfig, store: UsageStore, budget: QueryBudget) -> None:
        self.config = config
        self.store = store
        self.budget = budget
        self.schema = sandbox_schema()
        #: Other accounts and the SFU (turnmeter.sandbox.accounts); the main TURN store is `store`.
        self.accounts = AccountData(store)

    def _status(self, documented: int) -> int:
        return 200 if self.config.error_status == "always-200" else documented

    def error_reply(
        self, message: str, status: int, *, code: str | None = None, path: Any = None
    ) -> Reply:
        """A Cloudflare-shaped failure, with the status this sandbox's error mode sends."""
        return error_reply(message, self._status(status), code=code, path=path)

    def authorized(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header carries the sandbox's Bearer token."""
        scheme, _, token = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self.config.token.encode()
        )

    async def run(
        self,
        payload: Mapping[str, Any] | bytes,
        *,
        authorization: str | None,
        account_based: bool = False,
    ) -> Reply:
        """Answer one GraphQL request: a POST body, or GET's parameters.

        Decoding, parsing, validation and execution run in a worker thread, so that a large
        request never stalls the event loop (and the health probe) while it is being answered.
        """
        return await asyncio.to_thread(
            self.run_sync, payload, authorization=authorization, account_based=account_based
        )

    def run_sync(
        self,
        payload: Mapping[str, Any] | bytes,
        *,
        authorization: str | None,
        account_based: bool = False,
    ) -> Reply:
        """:meth:`run` in the calling thread."""
        try:
            return self._answer(read_payload(payload), authorization, account_based)
        except Refusal as refusal:
            return self.error_reply(refusal.message, refusal.status, code=refusal.code)

    def _answer(
        self, payload: Mapping[str, Any], authorization: str | None, account_based: bool
    ) -> Reply:
        if not self.authorized(authorization):
            return self.error_reply(refusals.UNAUTHORIZED, 401)
        query = payload.get("query")
        variables = payload.get("variables") or {}
        operation_name = payload.get("operationName") or None
        if not isinstance(query, str) or not isinstance(variables, dict):
            return self.error_reply(refusals.QUERY_CONTAINS_ERROR, 400)
        # Parsing and validation depend on the text alone: done once per distinct text.
        prepared = prepare(self.schema, query)
        raise_refusal(prepared.text_refusal)
        guards.check_variables(variables)
        raise_refusal(prepared.parse_refusal)
        document = prepared.document
        if document is None:
            return self.error_reply(prepared.message or refusals.QUERY_CONTAINS_ERROR, 400)
        cost = count_turn_nodes(document, operation_name, variables)
        if not self.budget.try_spend(cost):
            code = "budget" if account_based else None
            return self.error_reply(refusals.RATE_LIMITED, 429, code=code)
        scope = RequestScope(
            self.config,
            self.store,
            self.config.clock().timestamp(),
            cost,
            self.budget.remaining(),
            self.accounts,
        )
        result = execute_sync(
            self.schema,
            document,
            root_value=root_value(scope),
            variable_values=variables,
            operation_name=operation_name,
            execution_context_class=self.execution_context_class,
        )
        if result.errors:
            return self._execution_failure(result.errors[0])
        return Reply(200, {"data": result.data, "errors": None})

    def _execution_failure(self, error: GraphQLError) -> Reply:
        original = error.original_error
        if isinstance(original, Refusal):
            return self.error_reply(
                original.message, original.status, code=original.code, path=error.path
            )
        if original is None or isinstance(original, GraphQLError):
            # variable coercion and argument errors: the query itself is wrong
            return self.error_reply(cloudflare_message(error.message), 400, path=error.path)
        log.error("sandbox resolver failed", exc_info=original)
        return self.error_reply(refusals.INTERNAL, 500, path=error.path)


def read_payload(payload: Mapping[str, Any] | bytes) -> Mapping[str, Any]:
    """The request object of a POST body, or GET's parameters with ``variables`` decoded."""
    if isinstance(payload, bytes):
        body = guards.read_json(payload)
        if not isinstance(body, dict):
            raise Refusal(refusals.QUERY_CONTAINS_ERROR)
        return body
    decoded = dict(payload)
    if isinstance(decoded.get("variables"), str):
        decoded["variables"] = guards.read_json(decoded["variables"])
    return decoded
