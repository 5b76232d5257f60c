"""The shipped alert rules: ``promtool check rules`` passes, and ``promtool test rules`` shows
each alert firing on the series that should fire it (and not on healthy ones)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.exporter.prometheus import RULES
from tests.servers import server_binary

UNIT_TESTS = Path(__file__).with_name("rules_test.yml")


def test_promtool_check_rules_passes() -> None:
    done = subprocess.run(
        [server_binary("promtool"), "check", "rules", str(RULES)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 8 rules found" in done.stdout


def test_promtool_rule_unit_tests_pass(tmp_path: Path) -> None:
    # promtool resolves rule_files relative to the test file: point it at the shipped rules.
    tests = tmp_path / "rules_test.yml"
    tests.write_text(
        UNIT_TESTS.read_text(encoding="utf-8").replace("RULES_FILE", str(RULES)), encoding="utf-8"
    )
    done = subprocess.run(
        [server_binary("promtool"), "test", "rules", str(tests)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout
