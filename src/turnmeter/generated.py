"""The one door to the generated package (``generated/cf_analytics``, written by ariadne-codegen
with turnmeter's plugin).

Every hand-written module takes what it needs of the generated client from here, so a schema
change that renames a generated class is mended in one place, and a test of the import graph can
hold the rest of ``turnmeter`` to it. Every name loads on first use, so that importing
``turnmeter`` pays only for what it touches (the enum costs almost nothing; the rows and decoders
import msgspec; the client and its input model import pydantic).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cf_analytics.base_model import UNSET
    from cf_analytics.client import Client as GeneratedClient
    from cf_analytics.enums import AccountCallsTurnUsageAdaptiveGroupsOrderBy as OrderBy
    from cf_analytics.enums import AccountCallsUsageAdaptiveGroupsOrderBy as SfuOrderBy
    from cf_analytics.input_types import (
        AccountCallsTurnUsageAdaptiveGroupsFilter_InputObject as FilterInput,
    )
    from cf_analytics.input_types import (
        AccountCallsUsageAdaptiveGroupsFilter_InputObject as SfuFilterInput,
    )
    from cf_analytics.row_decoding import Leaf as DecoderLeaf
    from cf_analytics.row_decoding import Refused, RowDecoder, dataclass_view
    from cf_analytics.transport_base_client import dump_variables
    from cf_analytics.usage_rows import (
        AppUsage,
        CustomerKeyUsage,
        CustomerUsage,
        KeyUsage,
        SeriesPoint,
        SfuSeriesPoint,
        UsageTotals,
    )

__all__ = [
    "UNSET",
    "AppUsage",
    "CustomerKeyUsage",
    "CustomerUsage",
    "DecoderLeaf",
    "FilterInput",
    "GeneratedClient",
    "KeyUsage",
    "OrderBy",
    "Refused",
    "RowDecoder",
    "SeriesPoint",
    "SfuFilterInput",
    "SfuOrderBy",
    "SfuSeriesPoint",
    "UsageTotals",
    "dataclass_view",
    "dump_variables",
]

#: Every name, loaded on first use: the enum alone costs little; the rows and decoders import
#: msgspec; the client, its input model and dump_variables import pydantic.
_LAZY = {
    "OrderBy": ("cf_analytics.enums", "AccountCallsTurnUsageAdaptiveGroupsOrderBy"),
    "DecoderLeaf": ("cf_analytics.row_decoding", "Leaf"),
    "Refused": ("cf_analytics.row_decoding", "Refused"),
    "RowDecoder": ("cf_analytics.row_decoding", "RowDecoder"),
    "dataclass_view": ("cf_analytics.row_decoding", "dataclass_view"),
    **{
        name: ("cf_analytics.usage_rows", name)
        for name in (
            "AppUsage",
            "CustomerKeyUsage",
            "CustomerUsage",
            "KeyUsage",
            "SeriesPoint",
            "SfuSeriesPoint",
            "UsageTotals",
        )
    },
    "UNSET": ("cf_analytics.base_model", "UNSET"),
    "GeneratedClient": ("cf_analytics.client", "Client"),
    "FilterInput": (
        "cf_analytics.input_types",
        "AccountCallsTurnUsageAdaptiveGroupsFilter_InputObject",
    ),
    "SfuOrderBy": ("cf_analytics.enums", "AccountCallsUsageAdaptiveGroupsOrderBy"),
    "SfuFilterInput": (
        "cf_analytics.input_types",
        "AccountCallsUsageAdaptiveGroupsFilter_InputObject",
    ),
    "dump_variables": ("cf_analytics.transport_base_client", "dump_variables"),
}


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where[0]), where[1])
    globals()[name] = value
    return value
