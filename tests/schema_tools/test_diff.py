"""``schema diff`` on realistic edits of copies of Cloudflare's real dump.

Each edit is a text substitution on the 2.8 MB SDL; the diff prunes both sides first, so every
case costs two ~70 ms prunes rather than two full graphql-core parses.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.schema_tools.conftest import COMMITTED_SCHEMA, DUMP, ROOT
from turnmeter.cli import main
from turnmeter.schema_tools import DiffReport, diff_schemas

SUM_TYPE = "type AccountCallsTurnUsageAdaptiveGroupsSum {\n"
DIMENSIONS_TYPE = "type AccountCallsTurnUsageAdaptiveGroupsDimensions {\n"
FILTER_INPUT = "input AccountCallsTurnUsageAdaptiveGroupsFilter_InputObject {\n"
ORDER_BY_ENUM = "enum AccountCallsTurnUsageAdaptiveGroupsOrderBy {\n"
SFU_SUM_TYPE = "type AccountCallsUsageAdaptiveGroupsSum {\n"
EGRESS = (
    '  """\n  The total bytes sent by Calls TURN, observed over the queried time period\n  """\n'
)
INGRESS = (
    '  """\n  The total bytes received by Calls TURN, '
    'observed over the queried time period\n  """\n'
)


def _edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"edit anchor not unique: {old[:60]!r}"
    return text.replace(old, new)


def _diff(tmp_path: Path, new_text: str, name: str = "new.graphql") -> DiffReport:
    new = tmp_path / name
    new.write_text(new_text, encoding="utf-8")
    return diff_schemas(DUMP, new, project=ROOT)


def _kinds(changes: tuple[object, ...]) -> set[str]:
    return {getattr(change, "kind", "") for change in changes}


def test_turn_field_removed_is_breaking(tmp_path: Path, dump_text: str) -> None:
    report = _diff(tmp_path, _edit(dump_text, INGRESS + "  ingressBytes: int64!\n", ""))
    assert report.exit_code == 1
    failed = [op for op in report.operations if not op.valid]
    assert [op.name for op in failed] == ["UsageTotal"]
    assert "UsageTotal.graphql:12:" in failed[0].problems[0]
    assert [c.operations for c in report.breaking] == [("UsageTotal",)]
    assert "AccountCallsTurnUsageAdaptiveGroupsSum.ingressBytes was removed" in report.render()


def test_int64_to_float64_still_validates_but_changes_generated_types(
    tmp_path: Path, dump_text: str
) -> None:
    edited = _edit(
        dump_text, EGRESS + "  egressBytes: int64!\n", EGRESS + "  egressBytes: float64!\n"
    )
    report = _diff(tmp_path, edited)
    assert report.exit_code == 3
    assert all(op.valid for op in report.operations)
    assert not report.breaking
    assert _kinds(report.type_changes) == {"FIELD_CHANGED_KIND"}
    [codegen] = report.codegen
    assert codegen.message.startswith(
        "AccountCallsTurnUsageAdaptiveGroupsSum.egressBytes: int -> float"
    )
    assert "int64! -> float64!" in codegen.message
    assert "TopKeysByEgress" in codegen.operations
    assert "TurnNodeLimits" not in codegen.operations


def test_int64_to_uint64_is_no_impact_for_python(tmp_path: Path, dump_text: str) -> None:
    edited = _edit(
        dump_text, EGRESS + "  egressBytes: int64!\n", EGRESS + "  egressBytes: uint64!\n"
    )
    report = _diff(tmp_path, edited)
    assert report.exit_code == 0
    assert _kinds(report.type_changes) == {"FIELD_CHANGED_KIND"}
    assert not report.codegen


def test_enum_value_added_is_dangerous_and_changes_the_generated_enum(
    tmp_path: Path, dump_text: str
) -> None:
    report = _diff(tmp_path, _edit(dump_text, ORDER_BY_ENUM, ORDER_BY_ENUM + "  sessionId_ASC\n"))
    assert report.exit_code == 3
    assert _kinds(report.dangerous) == {"VALUE_ADDED_TO_ENUM"}
    assert [c.message for c in report.codegen] == [
        "enum AccountCallsTurnUsageAdaptiveGroupsOrderBy: + sessionId_ASC"
    ]
    assert "UsageTotal" not in report.codegen[0].operations  # it has no orderBy variable


def test_new_dimension_is_an_addition_that_changes_filter_and_enum(
    tmp_path: Path, dump_text: str
) -> None:
    edited = _edit(dump_text, DIMENSIONS_TYPE, DIMENSIONS_TYPE + "  sessionId: string!\n")
    edited = _edit(
        edited, FILTER_INPUT, FILTER_INPUT + "  sessionId: string\n  sessionId_in: [string!]\n"
    )
    edited = _edit(edited, ORDER_BY_ENUM, ORDER_BY_ENUM + "  sessionId_ASC\n  sessionId_DESC\n")
    report = _diff(tmp_path, edited)
    assert report.exit_code == 3
    additions = {c.message for c in report.additions}
    assert "AccountCallsTurnUsageAdaptiveGroupsDimensions.sessionId: string!" in additions
    assert (
        "AccountCallsTurnUsageAdaptiveGroupsFilter_InputObject.sessionId_in: [string!]" in additions
    )
    assert "AccountCallsTurnUsageAdaptiveGroupsOrderBy.sessionId_DESC" in additions
    assert not report.breaking


def test_new_metric_only_is_an_addition_with_no_impact(tmp_path: Path, dump_text: str) -> None:
    report = _diff(tmp_path, _edit(dump_text, SUM_TYPE, SUM_TYPE + "  packets: uint64!\n"))
    assert report.exit_code == 0
    assert [c.message for c in report.additions] == [
        "AccountCallsTurnUsageAdaptiveGroupsSum.packets: uint64!"
    ]


def test_filter_key_removed_is_breaking(tmp_path: Path, dump_text: str) -> None:
    report = _diff(tmp_path, _remove_filter_key(dump_text))
    assert report.exit_code == 1
    assert all(op.valid for op in report.operations)
    assert _kinds(report.breaking) == {"FIELD_REMOVED"}


def _remove_filter_key(text: str) -> str:
    start = text.index(FILTER_INPUT)
    end = text.index("\n}\n", start)
    body = text[start:end]
    return (
        text[:start] + body.replace('\n\n  """"""\n  username_notlike: string', "", 1) + text[end:]
    )


def test_unused_turn_field_change_is_reported_elsewhere(tmp_path: Path, dump_text: str) -> None:
    start = dump_text.index("type AccountCallsTurnUsageAdaptiveGroupsAvg {")
    edited = dump_text[:start] + dump_text[start:].replace(
        "concurrentConnectionsHour: uint64!", "concurrentConnectionsHour: float64!", 1
    )
    report = _diff(tmp_path, edited)
    assert report.exit_code == 0
    assert _kinds(report.elsewhere) == {"FIELD_CHANGED_KIND"}


def test_unrelated_dataset_change_has_no_impact(tmp_path: Path, dump_text: str) -> None:
    ai_sum = "type AccountAiGatewayRequestsAdaptiveGroupsSum {\n"
    report = _diff(tmp_path, _edit(dump_text, ai_sum, ai_sum + "  packets: uint64!\n"))
    assert report.exit_code == 0
    # the operations and the verdict, nothing else
    assert report.render().count("\n") == 5 + len(report.operations)
    assert not report.elsewhere


def test_sfu_field_removed_is_breaking_for_the_sfu_operations(
    tmp_path: Path, dump_text: str
) -> None:
    start = dump_text.index(SFU_SUM_TYPE)
    end = dump_text.index("\n}\n", start)
    edited = dump_text[:start] + SFU_SUM_TYPE + "  egressBytes: int64!" + dump_text[end:]
    report = _diff(tmp_path, edited)
    assert report.exit_code == 1
    failed = sorted(op.name for op in report.operations if not op.valid)
    assert failed == ["SfuTopApps", "SfuUsageTimeseries", "SfuUsageTotal"]
    assert "AccountCallsUsageAdaptiveGroupsSum.ingressBytes was removed" in report.render()


def test_new_sfu_metric_is_an_addition(tmp_path: Path, dump_text: str) -> None:
    report = _diff(tmp_path, _edit(dump_text, SFU_SUM_TYPE, SFU_SUM_TYPE + "  packets: uint64!\n"))
    assert report.exit_code == 0
    assert [c.message for c in report.additions] == [
        "AccountCallsUsageAdaptiveGroupsSum.packets: uint64!"
    ]


def test_description_changes_only_have_no_impact(tmp_path: Path, dump_text: str) -> None:
    edited = _edit(dump_text, EGRESS, EGRESS.replace("The total bytes sent", "Bytes sent (billed)"))
    report = _diff(tmp_path, edited)
    assert report.exit_code == 0
    assert report.render().rstrip().endswith("Verdict: no-impact (exit 0)")


def test_json_new_against_pruned_old_is_no_impact(dump_json: Path) -> None:
    report = diff_schemas(COMMITTED_SCHEMA, dump_json, project=ROOT)
    assert report.exit_code == 0
    assert all(op.valid for op in report.operations)


def test_cli_json_output_and_exit_code(
    tmp_path: Path, dump_text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    new = tmp_path / "new.graphql"
    new.write_text(_edit(dump_text, INGRESS + "  ingressBytes: int64!\n", ""), encoding="utf-8")
    code = main(
        ["schema", "diff", str(COMMITTED_SCHEMA), str(new), "--json", "--project", str(ROOT)]
    )
    payload = json.loads(capsys.readouterr().out)
    assert code == payload["exit_code"] == 1
    assert payload["verdict"] == "breaking"
    assert {op["name"] for op in payload["operations"] if not op["valid"]} == {"UsageTotal"}


@pytest.mark.parametrize(
    ("content", "code"), [(None, 2), ("type Query {\n", 10), ('{"data": null}', 10)]
)
def test_cli_usage_errors_exit_2(
    tmp_path: Path, content: str | None, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    # A missing file is a usage error (2); an unreadable one is schema input (10).
    new = tmp_path / "new.graphql"
    if content is not None:
        new.write_text(content, encoding="utf-8")
    assert main(["schema", "diff", str(COMMITTED_SCHEMA), str(new)]) == code
    assert "turnmeter schema diff:" in capsys.readouterr().err


def test_diff_verdicts_are_the_documented_exit_codes() -> None:
    from turnmeter.cli.exit_codes import ExitCode
    from turnmeter.schema_tools.report import DiffVerdict

    assert DiffVerdict.NO_IMPACT == ExitCode.OK
    assert DiffVerdict.BREAKING == ExitCode.FAILURE
    assert DiffVerdict.GENERATED_CODE_CHANGES == ExitCode.CHANGED
    assert [v.word for v in DiffVerdict] == ["no-impact", "breaking", "generated-code-changes"]
