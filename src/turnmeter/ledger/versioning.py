"""The version check every store applies before migrating."""

from __future__ import annotations

from turnmeter.errors import LedgerError
from turnmeter.ledger.migrations import LATEST


def check_version(current: int, display: str) -> None:
    """Refuse a store written by a newer turnmeter: its schema is not ours to guess at."""
    if current > LATEST:
        raise LedgerError(
            f"the ledger {display} is at schema version {current}, newer than this turnmeter "
            f"knows ({LATEST}); upgrade turnmeter to use it"
        )
