"""``schema diff`` SDL against introspection JSON: the built-in directives are no change.

An SDL file never spells out ``@include``, ``@skip``, ``@specifiedBy`` or ``@oneOf``, and an
introspection answer may leave some out; every GraphQL server has them either way.
"""

from __future__ import annotations

import json
from pathlib import Path

from graphql import build_schema, introspection_from_schema

from tests.schema_tools.conftest import COMMITTED_SCHEMA, ROOT
from turnmeter.schema_tools import diff_schemas


def test_builtin_directives_missing_from_introspection_are_not_removed(tmp_path: Path) -> None:
    sdl = COMMITTED_SCHEMA.read_text(encoding="utf-8")
    # something else changed too: a new field, which is an addition
    edited = sdl.replace(
        "type AccountCallsTurnUsageAdaptiveGroupsSum {\n",
        "type AccountCallsTurnUsageAdaptiveGroupsSum {\n  relayedPackets: int64!\n",
        1,
    )
    assert edited != sdl
    introspection = introspection_from_schema(build_schema(edited))
    introspection["__schema"]["directives"] = [
        d for d in introspection["__schema"]["directives"] if d["name"] == "deprecated"
    ]
    new = tmp_path / "introspection.json"
    new.write_text(json.dumps({"data": introspection}), encoding="utf-8")
    report = diff_schemas(COMMITTED_SCHEMA, new, project=ROOT)
    everything = report.breaking + report.dangerous + report.elsewhere + report.type_changes
    assert not [c for c in everything if "DIRECTIVE" in c.kind], everything
    assert report.additions
