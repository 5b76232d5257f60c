"""CSV and NDJSON rows may give ``minute`` as epoch seconds, as docs/sandbox.md says."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from turnmeter.sandbox.loaders import read_rows

MINUTE = datetime(2025, 6, 1, 12, 34, tzinfo=UTC)


def test_csv_minute_as_epoch_seconds(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    seconds = int(MINUTE.timestamp())
    path.write_text(
        f"minute,egress_bytes\n{seconds + 17},100\n2025-06-01T12:34:00Z,5\n", encoding="utf-8"
    )
    rows = list(read_rows(path))
    assert [(row[0], row[8]) for row in rows] == [(seconds, 100), (seconds, 5)]


def test_ndjson_minute_as_epoch_seconds(tmp_path: Path) -> None:
    path = tmp_path / "rows.ndjson"
    seconds = int(MINUTE.timestamp())
    path.write_text(f'{{"minute": {seconds}, "egressBytes": 7}}\n', encoding="utf-8")
    assert [(row[0], row[8]) for row in read_rows(path)] == [(seconds, 7)]
