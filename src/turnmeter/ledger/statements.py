"""The ledger's SQL, written once with ``?`` placeholders; PostgreSQL's ``$n`` are derived.

Every value travels as a parameter. The only numbers written into the text are bucket widths
from :data:`turnmeter.ledger.model.GRAINS` and the catalog's time granularities (checked
integers, never user input), used in ``GROUP BY`` expressions that PostgreSQL cannot take as
parameters.
"""

from __future__ import annotations

import functools
import re

from turnmeter.ledger.model import STORED_DIMENSIONS

_COLUMNS = ("bucket_start", *STORED_DIMENSIONS, "egress_bytes", "ingress_bytes", "fetched_at")
_KEY = ("series_id", "bucket_start", *STORED_DIMENSIONS)

SELECT_VERSION = "SELECT value FROM ledger_meta WHERE key = ?"
UPSERT_VERSION = (
    "INSERT INTO ledger_meta (key, value) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)
SELECT_SERIES = "SELECT id, grain, dimensions, since FROM ledger_series ORDER BY id"
INSERT_SERIES = "INSERT INTO ledger_series (grain, dimensions, since) VALUES (?, ?, ?)"
LOWER_SINCE = "UPDATE ledger_series SET since = ? WHERE id = ? AND since > ?"
SELECT_COVERAGE = (
    "SELECT bucket_start, fetched_at, settled FROM ledger_coverage "
    "WHERE series_id = ? ORDER BY bucket_start"
)
DELETE_WINDOW = (
    "DELETE FROM ledger_buckets WHERE series_id = ? AND bucket_start >= ? AND bucket_start < ?"
)
INSERT_BUCKET = (
    f"INSERT INTO ledger_buckets (series_id, {', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in range(len(_COLUMNS) + 1))}) "
    f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET "
    "egress_bytes = excluded.egress_bytes, ingress_bytes = excluded.ingress_bytes, "
    "fetched_at = excluded.fetched_at"
)
UPSERT_COVER = (
    "INSERT INTO ledger_coverage (series_id, bucket_start, fetched_at, settled) "
    "VALUES (?, ?, ?, ?) ON CONFLICT (series_id, bucket_start) DO UPDATE SET "
    "fetched_at = excluded.fetched_at, settled = excluded.settled"
)
SELECT_ROWS = (
    f"SELECT {', '.join(_COLUMNS)} FROM ledger_buckets WHERE series_id = ? "
    f"ORDER BY {', '.join(_KEY[1:])}"
)


def aggregate(step: int | None, columns: tuple[str, ...]) -> str:
    """Sums per (time bucket of ``step`` seconds, ``columns``) over a series and a range."""
    if step is not None and (not isinstance(step, int) or step <= 0):
        raise ValueError(f"bad step {step!r}")
    for column in columns:
        if column not in STORED_DIMENSIONS:
            raise ValueError(f"unknown column {column!r}")
    groups = ([f"bucket_start - (bucket_start % {step})"] if step else []) + list(columns)
    select = [*groups, "SUM(egress_bytes)", "SUM(ingress_bytes)"]
    text = (
        f"SELECT {', '.join(select)} FROM ledger_buckets "
        "WHERE series_id = ? AND bucket_start >= ? AND bucket_start < ?"
    )
    return f"{text} GROUP BY {', '.join(groups)}" if groups else text


@functools.lru_cache(maxsize=64)
def numbered(text: str) -> str:
    """``text`` with PostgreSQL's ``$1, $2, ...`` for its ``?`` placeholders."""
    counter = iter(range(1, 1000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", text)
