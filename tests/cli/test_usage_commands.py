"""The usage commands, run in-process with main([...]) against a sandbox over HTTP."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import CANARY_TOKEN
from tests.usage_data import NOW, START, usage_rows
from turnmeter.cli import main
from turnmeter.cli.exit_codes import ExitCode

RANGE = ["--since", START.isoformat(), "--until", NOW.isoformat(), "--now", NOW.isoformat()]
ROWS = [r for r in usage_rows() if START <= r.minute < NOW]


def egress_by(attribute: str, rows=ROWS) -> Counter[str]:
    totals: Counter[str] = Counter()
    for row in rows:
        totals[getattr(row, attribute)] += row.egress_bytes
    return totals


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_top_keys_json(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "top-keys", "--sandbox", *RANGE, "--limit", "2", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    expected = egress_by("key_id").most_common(2)
    assert [(r["key_id"], r["egress_bytes"]) for r in rows] == expected
    total = sum(egress_by("key_id").values())
    assert rows[0]["share_pct"] == round(100 * expected[0][1] / total, 2)
    assert rows[0]["cost_usd"] == round(expected[0][1] / 1e9 * 0.05, 4)


def test_top_customers_csv(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "top-customers", "--sandbox", *RANGE, "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    expected = egress_by("custom_identifier").most_common()
    assert [(r["custom_identifier"], int(r["egress_bytes"])) for r in rows] == expected


def test_top_keys_table_shows_decimal_units_and_utc(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "top-keys", "--sandbox", *RANGE)
    assert code == 0
    assert "UTC" in out
    assert " MB" in out
    top_key = egress_by("key_id").most_common(1)[0][0]
    assert top_key[:12] in out


def test_usage_for_one_customer_ndjson(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "usage", "--sandbox", *RANGE, "--customer", "tango", "--format", "ndjson"
    )
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    expected = egress_by("key_id", [r for r in ROWS if r.custom_identifier == "tango"])
    assert {r["key_id"]: r["egress_bytes"] for r in rows} == dict(expected)


def test_total_with_filter(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "total",
        "--sandbox",
        *RANGE,
        "--country",
        "DE",
        "--country",
        "JP",
        "--format",
        "json",
    )
    assert code == 0
    (row,) = json.loads(out)
    chosen = [r for r in ROWS if r.datacenter_country in {"DE", "JP"}]
    assert row["egress_bytes"] == sum(r.egress_bytes for r in chosen)
    assert row["ingress_bytes"] == sum(r.ingress_bytes for r in chosen)
    assert row["since"] == "2024-08-07T02:07:00Z"


def test_limits(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "limits", "--sandbox", "--format", "json", "--now", NOW.isoformat())
    assert code == 0
    (row,) = json.loads(out)
    assert row["max_page_size"] == 10_000
    assert row["max_duration_s"] == 31 * 86400


def test_chart_svg_has_one_bar_per_row(
    cli_env: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    chart = tmp_path / "keys.svg"
    code, _, _ = run(capsys, "top-keys", "--sandbox", *RANGE, "--chart", str(chart))
    assert code == 0
    svg = chart.read_text()
    assert svg.lstrip().startswith("<?xml")
    assert "<svg" in svg
    assert sum(f'id="point-{i}"' in svg for i in range(10)) == len(egress_by("key_id"))


def test_chart_png_is_a_png(
    cli_env: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    chart = tmp_path / "customers.png"
    assert run(capsys, "top-customers", "--sandbox", *RANGE, "--chart", str(chart))[0] == 0
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_output_file(cli_env: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "keys.json"
    code, out, _ = run(
        capsys, "top-keys", "--sandbox", *RANGE, "--format", "json", "-o", str(target)
    )
    assert code == 0
    assert out == ""
    assert len(json.loads(target.read_text())) == len(egress_by("key_id"))


@pytest.mark.parametrize(
    ("argv", "one_line"),
    [
        (["top-keys", "--sandbox", "--since", "yesterday-ish"], True),
        (["top-keys", "--sandbox", "--month", "2024-13"], True),
        (["top-keys", "--sandbox", "--month", "2024-07", "--today"], True),
        (["top-keys", "--sandbox", "--limit", "-1"], False),
        (["usage", "--sandbox", "--customer", "a", "--key", "b"], True),
        (["top-keys", "--format", "yaml"], False),
        (["total", "--sandbox", "--chart", "total.png"], False),
        (["top-keys", "--sandbox", "--chart", "out.jpg"], True),
        (["no-such-command"], False),
    ],
)
def test_bad_arguments_exit_2(
    cli_env: str, capsys: pytest.CaptureFixture[str], argv: list[str], one_line: bool
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == ExitCode.USAGE
    assert err.strip()
    assert "CLOUDFLARE_API_TOKEN" not in err  # the credentials hint is for credential errors
    if one_line:  # ours are one line; argparse's own add its usage line
        assert len(err.strip().splitlines()) == 1


def test_auth_failure_exit_code_and_no_token(
    cli_env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TURNMETER_SANDBOX_TOKEN", "wrong-" + CANARY_TOKEN)
    code, out, err = run(capsys, "total", "--sandbox", *RANGE, "--verbose")
    assert code == ExitCode.AUTH
    assert "Unauthorized" in err
    assert CANARY_TOKEN not in out + err


def test_config_file_may_not_hold_a_token(
    cli_env: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('api_token = "abc"\n')
    code, _, err = run(capsys, "total", "--sandbox", "--config", str(config))
    assert code == ExitCode.CONFIG
    assert "never from files" in err


def test_config_file_sets_the_format(
    cli_env: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('format = "json"\n')
    code, out, _ = run(capsys, "total", "--sandbox", *RANGE, "--config", str(config))
    assert code == 0
    assert json.loads(out)[0]["egress_bytes"] == sum(r.egress_bytes for r in ROWS)
