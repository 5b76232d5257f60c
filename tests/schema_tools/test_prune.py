"""Pruning: the dump reproduces schema/ byte for byte, from SDL and from introspection JSON."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest
from graphql import build_schema

from tests.schema_tools.conftest import COMMITTED_SCHEMA, DUMP
from turnmeter.cli import main
from turnmeter.errors import SchemaError
from turnmeter.schema_tools import prune_file, prune_text, render


def test_sdl_dump_reproduces_committed_schema(dump_text: str) -> None:
    assert render(prune_text(dump_text)) == COMMITTED_SCHEMA.read_text(encoding="utf-8")


def test_json_and_sdl_give_identical_bytes(dump_text: str, dump_json: Path) -> None:
    from_json = render(prune_text(dump_json.read_text(encoding="utf-8")))
    assert from_json == render(prune_text(dump_text))


def test_pruning_a_pruned_schema_changes_nothing() -> None:
    text = COMMITTED_SCHEMA.read_text(encoding="utf-8")
    assert render(prune_text(text)) == text


def test_committed_schema_builds_and_has_no_descriptions() -> None:
    text = COMMITTED_SCHEMA.read_text(encoding="utf-8")
    schema = build_schema(text)
    assert '"""' not in text
    assert (
        "datetime_geq"
        not in schema.type_map["AccountCallsTurnUsageAdaptiveGroupsFilter_InputObject"].fields
    )  # type: ignore[union-attr]


def test_committed_schema_keeps_the_sfu_dataset_and_its_settings() -> None:
    schema = build_schema(COMMITTED_SCHEMA.read_text(encoding="utf-8"))
    account = schema.type_map["account"]
    assert {"callsTurnUsageAdaptiveGroups", "callsUsageAdaptiveGroups"} <= set(account.fields)  # type: ignore[attr-defined]
    assert "callsUsageAdaptiveGroups" in schema.type_map["AccountSettings"].fields  # type: ignore[attr-defined]
    dimensions = schema.type_map["AccountCallsUsageAdaptiveGroupsDimensions"]
    assert set(dimensions.fields) == {  # type: ignore[attr-defined]
        "appId",
        "date",
        "datetimeMinute",
        "datetimeFiveMinutes",
        "datetimeFifteenMinutes",
        "datetimeHour",
        "sessionId",
        "trackId",
        "trackType",
    }
    group = schema.type_map["AccountCallsUsageAdaptiveGroups"]
    assert "avg" not in group.fields  # type: ignore[attr-defined]
    # The testing-only status dataset stays out.
    assert "callsStatusAdaptive" not in account.fields  # type: ignore[attr-defined]


def test_prune_file_writes_schema_and_provenance(tmp_path: Path) -> None:
    result = prune_file(DUMP, tmp_path / "schema")
    assert result.schema_file is not None
    assert result.provenance_file is not None
    assert result.schema_file.read_bytes() == COMMITTED_SCHEMA.read_bytes()
    provenance = json.loads(result.provenance_file.read_text(encoding="utf-8"))
    # The digest of the uncompressed SDL: a dump keeps its identity however it is stored.
    assert provenance["sha256"] == hashlib.sha256(gzip.decompress(DUMP.read_bytes())).hexdigest()
    assert provenance["schema_sha256"] == hashlib.sha256(COMMITTED_SCHEMA.read_bytes()).hexdigest()
    assert provenance["format"] == "sdl"
    assert provenance["source"].endswith(DUMP.name)
    assert provenance["retrieved_at"].endswith("Z")
    assert provenance["turnmeter_version"]


def test_cli_prune_from_json(tmp_path: Path, dump_json: Path) -> None:
    assert main(["schema", "prune", "--from", str(dump_json), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "cloudflare-turn.graphql").read_bytes() == COMMITTED_SCHEMA.read_bytes()
    provenance = json.loads((tmp_path / "provenance.json").read_text(encoding="utf-8"))
    assert provenance["format"] == "introspection-json"


def test_missing_turn_field_is_refused_when_strict(dump_text: str) -> None:
    broken = dump_text.replace("callsTurnUsageAdaptiveGroups(", "callsTurnUsageGone(", 1)
    with pytest.raises(SchemaError, match="callsTurnUsageAdaptiveGroups"):
        prune_text(broken)
    assert "callsTurnUsageAdaptiveGroups" not in str(
        prune_text(broken, strict=False).type_map["account"].fields  # type: ignore[union-attr]
    )


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"data": {}}'])
def test_bad_json_inputs_are_schema_errors(text: str) -> None:
    with pytest.raises(SchemaError):
        prune_text(text)


def test_cli_prune_missing_file_is_a_schema_error(tmp_path: Path) -> None:
    assert main(["schema", "prune", "--from", str(tmp_path / "nope.graphql")]) == 10
