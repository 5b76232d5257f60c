"""``turnmeter exporter``: flags, config file keys, --once, clear errors, the extra's hint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.exporter.expect import gauge
from turnmeter.cli import main
from turnmeter.cli.exit_codes import ExitCode


def _egress_samples(text: str) -> list[dict[str, str]]:
    return [
        sample.labels
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "turnmeter_turn_egress_bytes_total"
    ]


def test_once_prints_capped_counters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exporter", "--sandbox", "--once", "--top-customers", "3"]) == 0
    labels = _egress_samples(capsys.readouterr().out)
    customers = {item["custom_identifier"] for item in labels}
    assert len(customers - {"__other__"}) == 3
    assert "__other__" in customers


def test_config_file_keys_set_the_exporter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    state = tmp_path / "state.sqlite"
    config.write_text(
        f'exporter_labels = "custom_identifier"\nexporter_top_customers = 2\n'
        f'exporter_state_file = "{state}"\nbudget_usd = 5\n',
        encoding="utf-8",
    )
    assert main(["exporter", "--sandbox", "--once", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    labels = _egress_samples(out)
    assert all(set(item) == {"custom_identifier"} for item in labels)
    assert len(labels) == 3  # two customers and __other__
    assert "turnmeter_turn_budget_left_usd" in out
    assert state.is_file()
    # A flag wins over the file; the state file then refuses the changed labels.
    code = main(["exporter", "--sandbox", "--once", "--config", str(config), "--labels", "key_id"])
    assert code == ExitCode.USAGE
    assert "labels" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--labels", "datacenter"], "unknown exporter label"),
        (["--listen", "nowhere"], "HOST:PORT"),
        (["--listen", "127.0.0.1:70000"], "0 to 65535"),
        (["--budget", "-1"], "non-negative"),
    ],
)
def test_bad_values_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["exporter", "--sandbox", "--once", *argv]) == ExitCode.USAGE
    assert message in capsys.readouterr().err


def test_bad_config_value_type(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text('exporter_top_customers = "many"\n', encoding="utf-8")
    assert main(["exporter", "--sandbox", "--once", "--config", str(config)]) == ExitCode.CONFIG
    assert "exporter_top_customers" in capsys.readouterr().err


def test_zero_poll_interval_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exporter", "--poll-interval", "0"]) == ExitCode.USAGE
    assert "more than 0" in capsys.readouterr().err


def test_without_prometheus_client_the_cli_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['prometheus_client'] = None\n"
        "from turnmeter.cli import main\n"
        "sys.exit(main(['exporter', '--sandbox', '--once']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    # A missing extra is refused like --chart without matplotlib: a usage error naming it.
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert "pip install 'turnmeter[exporter]'" in done.stderr


def test_without_prometheus_client_the_modules_import_and_the_exporter_names_the_extra() -> None:
    # What a wheel installed without extras does: every module imports; building the
    # exposition is where the missing package is named.
    code = (
        "import sys; sys.modules['prometheus_client'] = None\n"
        "import turnmeter.exporter.app, turnmeter.exporter.metrics\n"
        "from turnmeter import TurnUsage\n"
        "from turnmeter.errors import ConfigError\n"
        "from turnmeter.exporter.app import Exporter\n"
        "turn = TurnUsage(account_tag='a' * 32, api_token='t', endpoint='http://127.0.0.1:9')\n"
        "try:\n"
        "    Exporter(turn)\n"
        "except ConfigError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "pip install 'turnmeter[exporter]'" in done.stdout


def test_labels_none_is_one_account_series(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exporter", "--sandbox", "--once", "--labels", "none"]) == 0
    out = capsys.readouterr().out
    assert _egress_samples(out) == [{}]
    # Backfilled from the month's start: the one counter is the month to date.
    assert gauge(out, "turnmeter_turn_egress_bytes_total") == gauge(
        out, "turnmeter_turn_month_egress_bytes"
    )
