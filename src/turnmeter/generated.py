"""The one door to the generated package (``generated/cf_analytics``, written by ariadne-codegen).

Every hand-written module takes what it needs of the generated client from here, so a schema
change that renames a generated class is mended in one place, and a test of the import graph can
hold the rest of ``turnmeter`` to it.
"""

from __future__ import annotations

from cf_analytics import AccountCallsTurnUsageAdaptiveGroupsFilter_InputObject as FilterInput
from cf_analytics import AccountCallsTurnUsageAdaptiveGroupsOrderBy as OrderBy
from cf_analytics import AccountCallsUsageAdaptiveGroupsFilter_InputObject as SfuFilterInput
from cf_analytics import AccountCallsUsageAdaptiveGroupsOrderBy as SfuOrderBy
from cf_analytics import Client as GeneratedClient
from cf_analytics.transport_base_client import dump_variables

__all__ = [
    "FilterInput",
    "GeneratedClient",
    "OrderBy",
    "SfuFilterInput",
    "SfuOrderBy",
    "dump_variables",
]
