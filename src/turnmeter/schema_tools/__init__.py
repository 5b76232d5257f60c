"""The schema workflow: pull, prune, diff, validate, generate and check.

Everything here imports graphql-core (and, for :func:`generate`, ariadne-codegen when it runs);
``turnmeter --help`` never imports this package. The pull names load aiohttp and the transport
on first use only, so prune, diff and generate stay light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from turnmeter.lazy import lazy_getattr
from turnmeter.schema_tools.diff import diff_schemas
from turnmeter.schema_tools.generate import (
    CheckResult,
    GenerateResult,
    check_generated,
    generate,
)
from turnmeter.schema_tools.project import Project, load_project
from turnmeter.schema_tools.prune import ROOT_FIELDS, prune_text, render
from turnmeter.schema_tools.report import DiffReport, OperationImpact, SchemaChange
from turnmeter.schema_tools.store import (
    Provenance,
    PruneResult,
    load_schema,
    prune_file,
    prune_source,
)
from turnmeter.schema_tools.validate import QueryProblem, check_queries, validate_queries

if TYPE_CHECKING:
    from turnmeter.schema_tools.introspect import PullResult, fetch_introspection, pull


__all__ = [
    "ROOT_FIELDS",
    "CheckResult",
    "DiffReport",
    "GenerateResult",
    "OperationImpact",
    "Project",
    "Provenance",
    "PruneResult",
    "PullResult",
    "QueryProblem",
    "SchemaChange",
    "check_generated",
    "check_queries",
    "diff_schemas",
    "fetch_introspection",
    "generate",
    "load_project",
    "load_schema",
    "prune_file",
    "prune_source",
    "prune_text",
    "pull",
    "render",
    "validate_queries",
]


__getattr__ = lazy_getattr(
    __name__,
    {"turnmeter.schema_tools.introspect": ("PullResult", "fetch_introspection", "pull")},
    globals(),
)
