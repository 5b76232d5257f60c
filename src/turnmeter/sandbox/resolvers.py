"""Resolvers: the object graph graphql-core walks for one request.

graphql-core's default resolver reads dict keys and calls callables with ``(info, **args)``, so
the graph is plain dicts with a few functions where arguments matter (``accounts``, the TURN
node, ``confidence``). Aliases and fragments need nothing special: the TURN resolver reads its
selection set with graphql-core's own ``collect_sub_fields``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import FieldNode, GraphQLObjectType, GraphQLResolveInfo
from graphql.execution.collect_fields import collect_sub_fields

from turnmeter.sandbox import refusals, sfu
from turnmeter.sandbox.accounts import AccountData
from turnmeter.sandbox.json_groups import PendingGroups
from turnmeter.sandbox.limits import check_node
from turnmeter.sandbox.model import SandboxConfig
from turnmeter.sandbox.sql import AVGS, DIMENSIONS, SUMS, GroupQuery
from turnmeter.sandbox.store import UsageStore

TURN_FIELD = "callsTurnUsageAdaptiveGroups"
#: The dataset nodes a request pays for (one query each of the rate budget).
DATASET_FIELDS = frozenset({TURN_FIELD, sfu.SFU_FIELD})
GROUP_TYPE = "AccountCallsTurnUsageAdaptiveGroups"
#: settings.availableFields: the dimension and metric paths the node can return, written as
#: Cloudflare documents them: a nested field joined to its parent with "_" (``sum_requests``).
AVAILABLE_FIELDS = tuple(
    [f"dimensions_{name}" for name in DIMENSIONS]
    + [f"sum_{name}" for name in SUMS]
    + [f"avg_{name}" for name in AVGS]
)


@dataclass(frozen=True)
class RequestScope:
    """What one request's resolvers need: data, settings, the clock, its cost and budget."""

    config: SandboxConfig
    store: UsageStore
    now: float
    cost: int
    budget: int
    #: Other accounts' data and every account's SFU rows (None: the main account's TURN only).
    accounts: AccountData | None = None


def root_value(scope: RequestScope) -> dict[str, Any]:
    """The ``Query`` object for one request."""
    return {"cost": scope.cost, "viewer": {"budget": scope.budget, "accounts": _accounts(scope)}}


def _accounts(scope: RequestScope) -> Any:
    def accounts(_info: GraphQLResolveInfo, **args: Any) -> list[dict[str, Any]]:
        wanted = (args.get("filter") or {}).get("accountTag")
        tag = scope.config.account_tag if wanted is None else wanted
        if scope.accounts is None:
            if tag != scope.config.account_tag:
                raise refusals.Refusal(
                    refusals.NOT_AUTHORIZED_FOR_ACCOUNT, status=403, code="authz"
                )
            return [_account(scope, scope.config.account_tag)]
        store = scope.accounts.turn_store(scope.config, tag)  # the 403 for an unreadable tag
        return [_account(dataclasses.replace(scope, store=store), tag)]

    return accounts


def _account(scope: RequestScope, account_tag: str) -> dict[str, Any]:
    limits = scope.config.limits
    settings = {
        "enabled": limits.enabled,
        "availableFields": list(AVAILABLE_FIELDS),
        "maxDuration": limits.max_duration,
        "maxNumberOfFields": limits.max_number_of_fields,
        "maxPageSize": limits.max_page_size,
        "notOlderThan": limits.not_older_than,
    }

    def turn_node(info: GraphQLResolveInfo, **args: Any) -> list[dict[str, Any]] | PendingGroups:
        query, confidence = read_group_query(info, args)
        check_node(
            limits,
            account_tag,
            scope.now,
            query.filter,
            query.limit,
            query.selected_fields,
        )
        # Plain blocking SQL: the engine runs the whole request in a worker thread, so a slow
        # aggregate never stalls the event loop (the demo runs its client in the same loop).
        if not confidence:  # read by the executor: as JSON from SQLite where it can be
            return PendingGroups(scope.store, query)
        groups = scope.store.group(query)
        for group in groups:  # one resolver per group, built only when the block is asked for
            group["confidence"] = _confidence(group)
        return groups

    account: dict[str, Any] = {"settings": {TURN_FIELD: settings}, TURN_FIELD: turn_node}
    if scope.accounts is not None:
        data, config = scope.accounts, scope.config
        sfu_limits = config.sfu_limits or limits
        account["settings"][sfu.SFU_FIELD] = sfu.settings_entry(sfu_limits)
        account.update(
            sfu.sfu_fields(
                sfu_limits,
                account_tag,
                scope.now,
                lambda: data.sfu_store(config, account_tag),
                _confidence,
                read_group_query,
            )
        )
    return account


def _selected(
    info: GraphQLResolveInfo, parent: GraphQLObjectType, nodes: list[FieldNode]
) -> dict[str, list[FieldNode]]:
    """Field name -> its nodes, for the selection sets of ``nodes`` (fragments, aliases, @skip)."""
    by_response = collect_sub_fields(
        info.schema, info.fragments, info.variable_values, parent, nodes
    )
    fields: dict[str, list[FieldNode]] = {}
    for field_nodes in by_response.values():
        fields.setdefault(field_nodes[0].name.value, []).extend(field_nodes)
    return fields


def read_group_query(
    info: GraphQLResolveInfo,
    args: Mapping[str, Any],
    group_type_name: str = GROUP_TYPE,
    metrics: tuple[tuple[str, ...], tuple[str, ...]] = (tuple(SUMS), tuple(AVGS)),
) -> tuple[GroupQuery, bool]:
    """A dataset node's arguments plus the dimension/sum/avg fields its selection asks for, and
    whether it selects the ``confidence`` block.

    TURN's node by default; ``group_type_name`` and ``metrics`` (every sum, every avg: what the
    ``confidence`` block reports on) name another dataset's (the SFU's, in :mod:`.sfu`).
    """
    group_type = info.schema.type_map[group_type_name]
    assert isinstance(group_type, GraphQLObjectType)
    blocks = _selected(info, group_type, list(info.field_nodes))
    picked: dict[str, tuple[str, ...]] = {}
    for block in ("dimensions", "sum", "avg"):
        nodes = blocks.get(block, [])
        if not nodes:  # not selected (the SFU has no avg block at all)
            picked[block] = ()
            continue
        block_type = group_type.fields[block].type
        assert isinstance(block_type, GraphQLObjectType)
        # __typename is answered by graphql-core, not by a column
        selected = _selected(info, block_type, nodes)
        picked[block] = tuple(name for name in selected if name != "__typename")
    sums, avgs = picked["sum"], picked["avg"]
    if "confidence" in blocks:  # the ALPHA confidence block reports on every metric
        sums, avgs = metrics
    query = GroupQuery(
        dimensions=picked["dimensions"],
        sums=sums,
        avgs=avgs,
        filter=args["filter"],
        order_by=tuple(args.get("orderBy") or ()),
        limit=args["limit"],
        selected_fields=sum(len(fields) for fields in picked.values()),
    )
    return query, "confidence" in blocks


def _confidence(group: Mapping[str, Any]) -> Any:
    """The ALPHA ``confidence`` block: the sandbox does not sample, so every estimate is exact."""

    def exact(value: float, sample_size: int) -> dict[str, Any]:
        return {
            "estimate": float(value),
            "lower": float(value),
            "upper": float(value),
            "isValid": True,
            "sampleSize": sample_size,
        }

    def confidence(_info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        size = int(group["count"])
        return {
            "level": args["level"],
            "sum": {name: exact(value, size) for name, value in group["sum"].items()},
            "avg": {name: exact(value, size) for name, value in group["avg"].items()},
        }

    return confidence
