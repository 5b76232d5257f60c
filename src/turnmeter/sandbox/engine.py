"""One GraphQL request, end to end: auth, parse, validate, budget, execute, Cloudflare's shape.

Every failure leaves as ``{"data": null, "errors": [{"message", "path", "extensions":
{"timestamp", "ray_id", "code"?}}]}`` with the status Cloudflare documents for it, or 200 for all
of them in ``always-200`` mode. Success is ``{"data": ..., "errors": null}`` as in Cloudflare's
own examples.
"""

from __future__ import annotations

import functools
import hmac
import inspect
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
    execute,
    parse,
    validate,
)
from graphql.execution.collect_fields import should_include_node

from turnmeter.resources import schema_text
from turnmeter.sandbox import refusals
from turnmeter.sandbox.model import SandboxConfig
from turnmeter.sandbox.ratelimit import QueryBudget
from turnmeter.sandbox.refusals import Refusal
from turnmeter.sandbox.resolvers import TURN_FIELD, RequestScope, root_value
from turnmeter.sandbox.scalars import TIME_FORMAT
from turnmeter.sandbox.store import UsageStore

log = logging.getLogger("turnmeter.sandbox")

# graphql-core wording -> Cloudflare wording (CLOUDFLARE_API.md, "Errors", parse row).
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Cannot query field '(\w+)' on type"), 'unknown field "{0}"'),
    (re.compile(r"Field '(\w+)' is not defined by type"), 'unknown field "{0}"'),
    (
        re.compile(r"Unknown argument '\w+' on field '\w+\.(\w+)'"),
        'error parsing args for "{0}": unexpected args',
    ),
)


@functools.cache
def sandbox_schema() -> GraphQLSchema:
    """The committed pruned schema with Cloudflare's scalar functions installed (built once)."""
    from turnmeter.sandbox.scalars import install_scalars

    schema = build_schema(schema_text())
    install_scalars(schema)
    return schema


@dataclass
class Reply:
    """An HTTP answer: status and JSON body (plus the ray id for the ``cf-ray`` header)."""

    status: int
    body: dict[str, Any]
    ray_id: str = field(default_factory=lambda: secrets.token_hex(8))


def cloudflare_message(message: str) -> str:
    """graphql-core's validation wording rewritten to Cloudflare's where we know it."""
    for pattern, template in _REWRITES:
        found = pattern.search(message)
        if found:
            return template.format(*found.groups())
    return message


def count_turn_nodes(
    document: DocumentNode, operation_name: str | None, variables: Mapping[str, Any]
) -> int:
    """How many TURN dataset nodes the chosen operation selects (each costs one query).

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
                total += selection.name.value == TURN_FIELD
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

    def __init__(self, config: SandboxConfig, store: UsageStore, budget: QueryBudget) -> None:
        self.config = config
        self.store = store
        self.budget = budget
        self.schema = sandbox_schema()

    def _status(self, documented: int) -> int:
        return 200 if self.config.error_status == "always-200" else documented

    def error_reply(
        self, message: str, status: int, *, code: str | None = None, path: Any = None
    ) -> Reply:
        """A Cloudflare-shaped failure."""
        reply = Reply(self._status(status), {})
        extensions: dict[str, Any] = {"timestamp": self._timestamp(), "ray_id": reply.ray_id}
        if code is not None:
            extensions["code"] = code
        error = {"message": message, "path": path, "extensions": extensions}
        reply.body = {"data": None, "errors": [error]}
        return reply

    def _timestamp(self) -> str:
        return datetime.now(UTC).strftime(TIME_FORMAT)

    def authorized(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header carries the sandbox's Bearer token."""
        scheme, _, token = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self.config.token.encode()
        )

    async def run(
        self,
        payload: Mapping[str, Any],
        *,
        authorization: str | None,
        account_based: bool = False,
    ) -> Reply:
        """Answer one GraphQL request body."""
        if not self.authorized(authorization):
            return self.error_reply(refusals.UNAUTHORIZED, 401)
        query = payload.get("query")
        variables = payload.get("variables") or {}
        operation_name = payload.get("operationName") or None
        if not isinstance(query, str) or not isinstance(variables, dict):
            return self.error_reply(refusals.QUERY_CONTAINS_ERROR, 400)
        try:
            document = parse(query)
        except GraphQLError as exc:
            return self.error_reply(exc.message, 400)
        problems = validate(self.schema, document)
        if problems:
            return self.error_reply(cloudflare_message(problems[0].message), 400)
        cost = count_turn_nodes(document, operation_name, variables)
        if not self.budget.try_spend(cost):
            code = "budget" if account_based else None
            return self.error_reply(refusals.RATE_LIMITED, 429, code=code)
        scope = RequestScope(
            self.config, self.store, self.config.clock().timestamp(), cost, self.budget.remaining()
        )
        result = execute(
            self.schema,
            document,
            root_value=root_value(scope),
            variable_values=variables,
            operation_name=operation_name,
        )
        if inspect.isawaitable(result):
            result = await result
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
