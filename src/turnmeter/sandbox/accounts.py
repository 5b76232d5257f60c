"""The accounts a sandbox serves, and each one's data: TURN rows and SFU rows.

The main account (``SandboxConfig.account_tag``) holds the configured TURN data. Each of
``other_accounts`` gets synthetic TURN traffic of its own (the configured seed plus its position,
so two accounts never share numbers); ``forbidden_accounts`` exist but refuse the token with
Cloudflare's 403 ``not authorized for that account`` (what any account the token cannot read
answers). One rate budget covers them all: it belongs to the token.

SFU rows are ``SandboxConfig.sfu_rows`` for the main account when given, else derived from the
account's TURN rows (:func:`turnmeter.sandbox.sfu.derive_sfu`). Stores other than the main one
are built on first use, in the worker thread answering the request, so a sandbox nobody asks
about the SFU or another account starts exactly as before.
"""

from __future__ import annotations

import threading

from turnmeter.sandbox import refusals
from turnmeter.sandbox.model import SandboxConfig, UsageRow
from turnmeter.sandbox.sfu import SfuStore, derive_sfu, sfu_tuple
from turnmeter.sandbox.store import UsageStore, row_tuple
from turnmeter.sandbox.synthetic import TrafficSpec, generate


def check_readable(config: SandboxConfig, tag: str) -> None:
    """Raise the 403 Cloudflare sends when the token may not read account ``tag``."""
    if tag != config.account_tag and tag not in config.other_accounts:
        raise refusals.Refusal(refusals.NOT_AUTHORIZED_FOR_ACCOUNT, status=403, code="authz")


def account_seed(config: SandboxConfig, tag: str) -> int:
    """The synthetic-traffic seed of a readable account."""
    if tag == config.account_tag:
        return config.seed
    return config.seed + 1 + config.other_accounts.index(tag)


class AccountData:
    """Every readable account's stores; thread-safe, built lazily."""

    def __init__(self, main: UsageStore) -> None:
        self._main = main
        self._turn: dict[str, UsageStore] = {}
        self._sfu: dict[str, SfuStore] = {}
        self._lock = threading.Lock()

    def turn_store(self, config: SandboxConfig, tag: str) -> UsageStore:
        """Account ``tag``'s TURN rows (a Refusal when the token may not read it)."""
        check_readable(config, tag)
        if tag == config.account_tag:
            return self._main
        with self._lock:
            store = self._turn.get(tag)
            if store is None:
                spec = TrafficSpec(
                    now=config.clock(),
                    seed=account_seed(config, tag),
                    days=config.days,
                    keys=config.keys,
                    customers=config.customers,
                )
                store = self._turn[tag] = UsageStore.create(generate(spec))
            return store

    def sfu_store(self, config: SandboxConfig, tag: str) -> SfuStore:
        """Account ``tag``'s SFU rows."""
        turn = self.turn_store(config, tag)
        with self._lock:
            store = self._sfu.get(tag)
            if store is None:
                if tag == config.account_tag and config.sfu_rows is not None:
                    rows = [sfu_tuple(row) for row in config.sfu_rows]
                else:
                    rows = derive_sfu(row_tuple(row) for row in turn.rows())
                store = self._sfu[tag] = SfuStore(rows)
            return store

    def turn_rows_added(self, config: SandboxConfig, tag: str, rows: list[UsageRow]) -> None:
        """Late TURN rows of account ``tag``: an SFU store already derived from its TURN rows
        gets what they derive, as if they had been there when it was built."""
        derived = not (tag == config.account_tag and config.sfu_rows is not None)
        with self._lock:
            store = self._sfu.get(tag)
        if store is not None and derived:
            store.add_tuples(derive_sfu(row_tuple(row) for row in rows))

    def close(self) -> None:
        """Close every store built here (the main one belongs to the sandbox)."""
        with self._lock:
            for turn in self._turn.values():
                turn.close()
            for sfu in self._sfu.values():
                sfu.close()
            self._turn.clear()
            self._sfu.clear()
