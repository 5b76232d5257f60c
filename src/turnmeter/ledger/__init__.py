"""The usage ledger: TURN usage pulled into SQLite or PostgreSQL, settled, kept past retention.

Modules: ``model`` (series, buckets, coverage), ``migrations`` (the schema, versioned),
``statements`` (the SQL), ``store`` (the interface and ``open_store``), ``sqlite_store`` and
``postgres_store``, ``coverage`` (settled, unsettled, gaps), ``sync`` (the engine), ``reads``
and ``billing`` (answers from the ledger), ``ledger`` (the :class:`Ledger` API).
"""

from __future__ import annotations

from turnmeter.ledger.ledger import Ledger
from turnmeter.ledger.store import LedgerStore
from turnmeter.ledger.urls import open_store

__all__ = ["Ledger", "LedgerStore", "open_store"]
