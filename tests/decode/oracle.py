"""The slow path as the facade ran it before the fast path, used as the oracle.

The transport's JSON-type walk (:func:`turnmeter.decode.documents.check_types`), then the generated
pydantic models, then the facade's own checks (a viewer, an account, a sum and dimensions).
"""

from __future__ import annotations

import copy
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
)

from turnmeter.decode.compiled import RowDecoder, decoder_for
from turnmeter.decode.documents import check_types, document_facts
from turnmeter.decode.shapes import operation_text
from turnmeter.errors import MalformedResponse
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
    def query(self) -> str:
        return operation_text(self.operation)

    def fast(self) -> RowDecoder[Any]:
        return decoder_for(self.query, self.operation, self.row, self.fields)

    def slow(self, data: Any) -> list[Any]:
        """Rows, or MalformedResponse / pydantic.ValidationError as the slow path raised."""
        check_types(document_facts(self.query, self.operation).plan, data, self.operation)
        result = self.model.model_validate(data)
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
    for path in (leaf.path for leaf in case.fast().shape.leaves):
        group.setdefault(path[0], {})[path[1]] = leaves[path[1]]
    return group


def response(groups: list[Any], accounts: int = 1) -> dict[str, Any]:
    """A ``data`` object with ``groups`` in every one of ``accounts`` accounts."""
    copies = [copy.deepcopy(groups) for _ in range(accounts)]
    return {"viewer": {"accounts": [{"callsTurnUsageAdaptiveGroups": g} for g in copies]}}
