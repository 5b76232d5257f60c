"""generated/ freshness, ``generate``, ``generate --check`` and query validation."""

from __future__ import annotations

import ast
import shutil
import sys
from pathlib import Path

import pytest

from tests.schema_tools.conftest import DUMP, ROOT
from turnmeter.cli import main
from turnmeter.errors import QueryError, SchemaError
from turnmeter.schema_tools import check_generated, generate, load_project, validate_queries
from turnmeter.schema_tools.generate import compare_packages, render_package

GENERATED = ROOT / "generated" / "cf_analytics"
TOP_KEYS = "queries/TopKeysByEgress.graphql"


def _edit_query(project: Path) -> None:
    path = project / TOP_KEYS
    path.write_text(path.read_text().replace("keyId\n", "keyId\n          username\n", 1))


def test_committed_generated_package_is_fresh(tmp_path: Path) -> None:
    """THE freshness test: regenerate from schema/ + queries/ and byte-compare with generated/."""
    project = load_project(ROOT)
    fresh = render_package(project, project.schema_file.read_text(encoding="utf-8"), tmp_path)
    result = compare_packages(fresh, GENERATED)
    assert result.ok, "generated/ is stale; run `turnmeter generate`:\n" + "\n".join(result.lines())


def test_freshness_fails_when_a_query_changes_without_regeneration(project_copy: Path) -> None:
    _edit_query(project_copy)
    project = load_project(project_copy)
    out = project_copy / "fresh"
    out.mkdir()
    fresh = render_package(project, project.schema_file.read_text(encoding="utf-8"), out)
    result = compare_packages(fresh, GENERATED)
    assert not result.ok
    assert "top_keys_by_egress.py" in result.stale


def test_check_passes_on_clean_tree_and_lists_files_after_query_edit(
    project_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["generate", "--check", "--project", str(project_copy)]) == 0
    _edit_query(project_copy)
    assert main(["generate", "--check", "--project", str(project_copy)]) == 1
    err = capsys.readouterr().err
    assert "stale: " in err
    assert "top_keys_by_egress.py" in err
    assert "input_types.py" not in err  # only what the edit touched


def test_generate_updates_package_and_removes_extra_files(project_copy: Path) -> None:
    package = project_copy / "generated" / "cf_analytics"
    (package / "leftover.py").write_text("# from a deleted query\n")
    _edit_query(project_copy)
    result = generate(project_copy)
    # The text lives in operations.py (client.py sends the constant); the row and its decoder
    # in usage_rows.py.
    assert result.changed == ("operations.py", "top_keys_by_egress.py", "usage_rows.py")
    assert result.removed == ("leftover.py",)
    assert "username" in (package / "top_keys_by_egress.py").read_text()
    assert check_generated(project_copy).ok


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # Loosen a bound of the generated decoder: int64 -> no upper bound.
        (", -9223372036854775808, 9223372036854775807)", ", -9223372036854775808, None)"),
        # Make a leaf nullable.
        ("'string', 'text', False", "'string', 'text', True"),
    ],
)
def test_check_fails_when_a_generated_decoder_is_edited_by_hand(
    project_copy: Path, capsys: pytest.CaptureFixture[str], old: str, new: str
) -> None:
    rows = project_copy / "generated" / "cf_analytics" / "usage_rows.py"
    text = rows.read_text()
    assert old in text
    rows.write_text(text.replace(old, new, 1))
    assert main(["generate", "--check", "--project", str(project_copy)]) == 1
    assert "stale: " in capsys.readouterr().err
    assert check_generated(project_copy).stale == ("usage_rows.py",)
    assert check_generated(ROOT).ok  # the real tree was not touched


def test_the_generated_package_reads_no_query_file_and_compiles_nothing() -> None:
    # The usage methods send constants and run decoders written at generation time.
    for path in GENERATED.glob("*.py"):
        text = path.read_text()
        assert "read_text" not in text, path.name
        assert "open(" not in text, path.name
        tree = ast.parse(text)
        calls = {
            n.func.id
            for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
        }
        assert not calls & {"exec", "eval", "compile"}, path.name
        imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [m for m in imported if m.split(".")[0] == "turnmeter"], path.name


def test_generate_from_dump_matches_committed(project_copy: Path) -> None:
    shutil.rmtree(project_copy / "schema")
    shutil.rmtree(project_copy / "generated")
    result = generate(project_copy, from_path=DUMP)
    assert result.pruned is not None
    assert compare_packages(result.package_dir, GENERATED).ok
    assert (project_copy / "schema" / "provenance.json").is_file()


def test_check_from_dump_leaves_schema_alone(project_copy: Path) -> None:
    schema = project_copy / "schema" / "cloudflare-turn.graphql"
    schema.write_text(schema.read_text().replace("  ingressBytes: int64!\n", "", 1))
    assert check_generated(project_copy, from_path=DUMP).ok
    assert "ingressBytes: int64!" not in schema.read_text().split("Sum {")[1].split("}")[0]


def test_generate_without_schema_asks_for_from(project_copy: Path) -> None:
    shutil.rmtree(project_copy / "schema")
    with pytest.raises(SchemaError, match="--from"):
        generate(project_copy)


def test_generate_refuses_invalid_query_with_location(project_copy: Path) -> None:
    path = project_copy / TOP_KEYS
    path.write_text(path.read_text().replace("keyId\n", "datetime\n", 1))
    with pytest.raises(QueryError, match=r"TopKeysByEgress\.graphql:12:\d+: TopKeysByEgress: "):
        generate(project_copy)
    assert check_generated(ROOT).ok  # the real tree was not touched


def test_missing_ariadne_codegen_says_how_to_install(
    project_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ariadne_codegen.config", None)
    with pytest.raises(SchemaError, match=r"pip install -e '\.\[dev\]'"):
        check_generated(project_copy)


def test_datetime_geq_on_turn_is_rejected_with_file_and_line(tmp_path: Path) -> None:
    queries = tmp_path / "queries"
    queries.mkdir()
    (queries / "Recent.graphql").write_text(
        "query Recent($accountTag: string!, $since: Time!) {\n"
        "  viewer {\n"
        "    accounts(filter: { accountTag: $accountTag }) {\n"
        "      callsTurnUsageAdaptiveGroups(filter: { datetime_geq: $since }, limit: 10) {\n"
        "        sum { egressBytes }\n"
        "      }\n"
        "    }\n"
        "  }\n"
        "}\n"
    )
    problems = validate_queries(queries_dir=queries, project=ROOT)
    assert len(problems) == 1
    problem = problems[0]
    assert problem.file.endswith("Recent.graphql")
    assert (problem.line, problem.column) == (4, 46)
    assert problem.operation == "Recent"
    assert "datetime_geq" in problem.message
    assert str(problem).startswith(f"{problem.file}:4:46: Recent: ")


def test_validate_cli_reports_syntax_and_naming(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queries = tmp_path / "queries"
    queries.mkdir()
    (queries / "Broken.graphql").write_text("query Broken {\n  viewer {\n")
    (queries / "A.graphql").write_text("query Same { cost }\n")
    (queries / "B.graphql").write_text("query Same { cost }\n")
    code = main(["schema", "validate", "--queries", str(queries), "--project", str(ROOT)])
    err = capsys.readouterr().err
    assert code == 9
    assert "Broken.graphql:3:1: Syntax Error" in err
    assert "B.graphql:1:1: Same: operation name 'Same' is also used in" in err


def test_validate_cli_passes_on_the_project(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "validate", "--project", str(ROOT)]) == 0


def test_every_generated_decoder_builds_its_rows_with_generated_code() -> None:
    # The comprehension that makes each operation's rows is written at generation time, not
    # compiled at run time (the DSL's run-time shapes compile theirs from the same recipe).
    from cf_analytics import usage_rows

    decoders = [value for name, value in vars(usage_rows).items() if name.endswith("_DECODER")]
    assert len(decoders) >= 5
    for decoder in decoders:
        assert decoder._build.__module__ == usage_rows.__name__, decoder.operation
        assert decoder._build.__name__.endswith("_rows"), decoder.operation
