"""Every usage command says the same thing in JSON, CSV and the table."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.usage_data import NOW, START, usage_rows
from turnmeter.cli import main
from turnmeter.cli.output import human_value

RANGE = ["--since", START.isoformat(), "--until", NOW.isoformat(), "--now", NOW.isoformat()]
ROWS = [r for r in usage_rows() if START <= r.minute < NOW]

COMMANDS = {
    "top-keys": ["top-keys", *RANGE],
    "top-customers": ["top-customers", *RANGE],
    "top-users": ["top-users", *RANGE, "--limit", "5"],
    "usage": ["usage", *RANGE, "--customer", "tango"],
    "total": ["total", *RANGE],
    "series": ["series", *RANGE, "--every", "day"],
    "query": ["query", *RANGE, "--dimensions", "datacenter_region", "--metrics", "egress_bytes"],
    "export": ["export", *RANGE],
    "budget": ["budget", "--now", NOW.isoformat(), "--budget", "5"],
    "limits": ["limits", "--now", NOW.isoformat()],
}


def output(capsys: pytest.CaptureFixture[str], argv: list[str], fmt: str) -> str:
    code = main([*argv, "--sandbox", "--format", fmt])
    assert code == 0, capsys.readouterr().err
    return capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_json_csv_and_table_agree(
    cli_env: str, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    argv = COMMANDS[name]
    records = json.loads(output(capsys, argv, "json"))
    assert records, f"{name} returned no rows"
    rows = list(csv.DictReader(io.StringIO(output(capsys, argv, "csv"))))
    assert len(rows) == len(records)
    for record, row in zip(records, rows, strict=True):
        assert list(row) == list(record)
        for key, value in record.items():
            text = row[key]
            if isinstance(value, bool):
                assert text == str(value).lower()  # as JSON writes it
            elif isinstance(value, int | float):
                assert float(text) == pytest.approx(value)
            else:
                assert text == str(value)
    table = output(capsys, argv, "table")
    for record in records:
        for key, value in record.items():
            if isinstance(value, str) and "T" in value and value.endswith("Z"):
                continue  # times are shown as "YYYY-MM-DD HH:MM", checked below
            shown = human_value(key, value)
            assert shown in table, (name, key, shown)
    assert "UTC" in table or name in ("limits",)


def test_totals_agree_with_the_raw_rows(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    (record,) = json.loads(output(capsys, COMMANDS["total"], "json"))
    assert record["egress_bytes"] == sum(r.egress_bytes for r in ROWS)
    series = json.loads(output(capsys, COMMANDS["series"], "json"))
    assert sum(r["egress_bytes"] for r in series) == record["egress_bytes"]
    export = json.loads(output(capsys, COMMANDS["export"], "json"))
    assert sum(r["egress_bytes"] for r in export) == record["egress_bytes"]
