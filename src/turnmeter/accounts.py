"""One question over several Cloudflare accounts, never silently partial.

Platforms and agencies run several accounts, and one token can read several of them. Cloudflare
takes one account per query, and its 300-queries-per-5-minutes budget belongs to the token::

    async with TurnUsage(account_tag=a) as turn:
        answer = await across_accounts(turn, [a, b, c], lambda t: t.total(since, until))
        answer.values          # {account tag: UsageTotals} for the accounts that answered
        answer.missing         # {account tag: "AuthError: not authorized for that account"}
        answer.rows()          # [{"account": a, "egress_bytes": ..., ...}, ...]

Every account's client is :meth:`TurnUsage.for_account` of the one given: one session, one
rate budget, one cache and concurrency cap for all of them. An account that fails (forbidden,
rate limited, a bad answer: any :class:`~turnmeter.errors.TurnmeterError`) does not fail the
others; it is named in :attr:`AccountsAnswer.missing` with the reason, and
:meth:`AccountsAnswer.require_complete` raises :class:`~turnmeter.errors.IncompleteAnswer` for
callers that want all or nothing. Bugs (any other exception) still propagate.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from turnmeter.client import TurnUsage
from turnmeter.errors import ConfigError, IncompleteAnswer, TurnmeterError

T = TypeVar("T")
#: The column (or field) that names the account in :meth:`AccountsAnswer.rows`.
ACCOUNT_COLUMN = "account"
#: Accounts asked at the same time unless told otherwise (the transport's cap still applies).
DEFAULT_ACCOUNT_CONCURRENCY = 4


@dataclass(frozen=True, slots=True)
class AccountResult(Generic[T]):
    """One account's answer, or the error that stood in its way."""

    account_tag: str
    value: T | None = None
    error: TurnmeterError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class AccountsAnswer(Generic[T]):
    """The answers of every account asked, in the order asked."""

    results: tuple[AccountResult[T], ...]

    @property
    def values(self) -> dict[str, T]:
        """Account tag -> answer, for the accounts that answered."""
        return {r.account_tag: r.value for r in self.results if r.ok}  # type: ignore[misc]

    @property
    def missing(self) -> dict[str, str]:
        """Account tag -> why it is missing (the error's type and message)."""
        return {
            r.account_tag: f"{type(r.error).__name__}: {r.error}"
            for r in self.results
            if r.error is not None
        }

    @property
    def complete(self) -> bool:
        return all(r.ok for r in self.results)

    def describe_missing(self) -> str:
        """One line naming the missing accounts and why (empty when complete)."""
        if self.complete:
            return ""
        named = "; ".join(f"{tag} ({why})" for tag, why in self.missing.items())
        return f"missing {len(self.missing)} of {len(self.results)} accounts: {named}"

    def require_complete(self) -> AccountsAnswer[T]:
        """This answer, or :class:`IncompleteAnswer` when any account is missing."""
        if not self.complete:
            raise IncompleteAnswer(self.describe_missing(), self)
        return self

    def rows(self) -> list[dict[str, Any]]:
        """Every answered row as a dict with the account first: lists of rows are flattened
        (dataclass rows, DSL rows, dicts), a single value is one row."""
        out: list[dict[str, Any]] = []
        for result in self.results:
            if not result.ok:
                continue
            items = result.value if isinstance(result.value, list | tuple) else [result.value]
            out.extend({ACCOUNT_COLUMN: result.account_tag, **_as_dict(item)} for item in items)
        return out


def _as_dict(item: Any) -> dict[str, Any]:
    if isinstance(item, Mapping):
        return dict(item)
    as_dict = getattr(item, "as_dict", None)
    if callable(as_dict):
        return dict(as_dict())
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}
    return {"value": item}


def account_tags(accounts: Iterable[str]) -> tuple[str, ...]:
    """The account tags asked for, checked, each once, in order."""
    if isinstance(accounts, str):
        accounts = [accounts]
    tags = tuple(dict.fromkeys(accounts))
    if not tags:
        raise ConfigError("name at least one account")
    for tag in tags:
        if not isinstance(tag, str) or not tag.isalnum():
            raise ConfigError(
                f"account tags must be the 32-character hexadecimal account id, got {tag!r}"
            )
    return tags


async def across_accounts(
    turn: TurnUsage,
    accounts: Iterable[str],
    question: Callable[[TurnUsage], Awaitable[T]],
    *,
    concurrency: int = DEFAULT_ACCOUNT_CONCURRENCY,
) -> AccountsAnswer[T]:
    """Ask ``question`` (a coroutine function of a client) of every account, ``concurrency``
    at a time, over ``turn``'s transport; see the module docstring for failures."""
    tags = account_tags(accounts)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigError(f"concurrency must be a positive integer, got {concurrency!r}")
    gate = asyncio.Semaphore(concurrency)

    async def one(tag: str) -> AccountResult[T]:
        client = turn if tag == turn.settings.account_tag else turn.for_account(tag)
        async with gate:
            try:
                return AccountResult(tag, value=await question(client))
            except TurnmeterError as exc:
                return AccountResult(tag, error=exc)

    return AccountsAnswer(tuple(await asyncio.gather(*(one(tag) for tag in tags))))
