"""An independent oracle for the generated decoders: the generated pydantic models, strict.

ariadne's result models for the same operations, validated from JSON in pydantic's strict mode
(no ``"12"`` for an integer, no ``true`` for a number), plus the scalar bounds pydantic does not
know (``int64``) and the facade's old checks (a viewer, an account, a sum and dimensions).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pydantic
from cf_analytics import (
    TopCustomIdentifiers,
    TopKeysByEgress,
    UsageForCustomIdentifier,
    UsageTimeseries,
    UsageTotal,
    usage_rows,
)

from turnmeter.decode.scalars import INT_RANGES
from turnmeter.errors import MalformedResponse
from turnmeter.generated import RowDecoder
from turnmeter.rows import CustomerKeyUsage, CustomerUsage, KeyUsage, SeriesPoint, UsageTotals


@dataclass(frozen=True)
class Case:
    """One hot operation: its model, row type, fields and how the facade built rows."""

    operation: str
    model: type[pydantic.BaseModel]
    row: type[Any]
    fields: tuple[str, ...]
    build: Callable[[Any], Any]

    @property
    def constant(self) -> str:
        return "".join(f"_{c}" if c.isupper() else c for c in self.operation).lstrip("_").upper()

    def fast(self) -> RowDecoder[Any]:
        """The decoder the generator wrote for this operation."""
        decoder: RowDecoder[Any] = getattr(usage_rows, f"{self.constant}_DECODER")
        return decoder

    def slow(self, data: Any) -> list[Any]:
        """Rows, or MalformedResponse / pydantic.ValidationError as the oracle refuses."""
        _bounds(self.fast(), data)
        result = self.model.model_validate_json(json.dumps(data), strict=True)
        viewer = result.viewer  # type: ignore[attr-defined]
        if viewer is None or not viewer.accounts:
            raise MalformedResponse("no account")
        groups = viewer.accounts[0].calls_turn_usage_adaptive_groups
        for group in groups:
            if group.sum is None or getattr(group, "dimensions", 0) is None:
                raise MalformedResponse("a TURN usage row lacks its sum or dimensions")
        return [self.build(g) for g in groups]


CASES = {
    "TopKeysByEgress": Case(
        "TopKeysByEgress",
        TopKeysByEgress,
        KeyUsage,
        ("dimensions.keyId", "sum.egressBytes"),
        lambda g: KeyUsage(g.dimensions.key_id, g.sum.egress_bytes),
    ),
    "TopCustomIdentifiers": Case(
        "TopCustomIdentifiers",
        TopCustomIdentifiers,
        CustomerUsage,
        ("dimensions.customIdentifier", "sum.egressBytes"),
        lambda g: CustomerUsage(g.dimensions.custom_identifier, g.sum.egress_bytes),
    ),
    "UsageForCustomIdentifier": Case(
        "UsageForCustomIdentifier",
        UsageForCustomIdentifier,
        CustomerKeyUsage,
        ("dimensions.customIdentifier", "dimensions.keyId", "sum.egressBytes"),
        lambda g: CustomerKeyUsage(
            g.dimensions.custom_identifier, g.dimensions.key_id, g.sum.egress_bytes
        ),
    ),
    "UsageTimeseries": Case(
        "UsageTimeseries",
        UsageTimeseries,
        SeriesPoint,
        ("dimensions.datetimeMinute", "sum.egressBytes"),
        lambda g: SeriesPoint(g.dimensions.datetime_minute, g.sum.egress_bytes),
    ),
    "UsageTotal": Case(
        "UsageTotal",
        UsageTotal,
        UsageTotals,
        ("sum.egressBytes", "sum.ingressBytes"),
        lambda g: UsageTotals(g.sum.egress_bytes, g.sum.ingress_bytes),
    ),
}


def _bounds(decoder: RowDecoder[Any], data: Any) -> None:
    # The integer scalars' ranges, which pydantic's int does not know.
    try:
        accounts = data["viewer"]["accounts"]
    except (KeyError, TypeError):
        return
    for account in accounts if isinstance(accounts, list) else []:
        groups = account.get(decoder.groups_key) if isinstance(account, dict) else None
        for group in groups if isinstance(groups, list) else []:
            for leaf in decoder.leaves:
                value = group
                for key in leaf.path:
                    value = value.get(key) if isinstance(value, dict) else None
                bounds = INT_RANGES.get(leaf.scalar)
                if bounds and type(value) is int and not bounds[0] <= value <= bounds[1]:
                    raise MalformedResponse(f"{'.'.join(leaf.path)} out of range")


def group_for(case: Case, index: int) -> dict[str, Any]:
    """A valid group of ``case``'s shape, distinct per ``index``."""
    leaves = {
        "keyId": f"key-{index}",
        "customIdentifier": f"customer-{index % 3}",
        "datetimeMinute": f"2025-01-01T{index // 60 % 24:02d}:{index % 60:02d}:00Z",
        "egressBytes": 1_000_003 * index,
        "ingressBytes": 7919 * index,
    }
    group: dict[str, Any] = {}
    for path in (leaf.path for leaf in case.fast().leaves):
        group.setdefault(path[0], {})[path[1]] = leaves[path[1]]
    return group


def response(groups: list[Any], accounts: int = 1) -> dict[str, Any]:
    """A ``data`` object with ``groups`` in every one of ``accounts`` accounts."""
    copies = [copy.deepcopy(groups) for _ in range(accounts)]
    return {"viewer": {"accounts": [{"callsTurnUsageAdaptiveGroups": g} for g in copies]}}
