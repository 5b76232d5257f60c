"""When to mint: the account's budget, per-customer egress caps, and what a refusal looks like.

:class:`IssuePolicy` is configuration (frozen, checked once). :class:`CustomerMeter` keeps one
:class:`~turnmeter.budget.BudgetGuard` per capped customer, scoped to its custom identifier, so
each customer's month-to-date egress has the guard's semantics: a background refresh at most
once per ``refresh_interval``, an answer within the ``decision_deadline``, an explicit policy
for "unknown". :func:`decide` asks the account guard, then the customer's guard (a warm guard
answers without suspending) and returns an :class:`IssueDecision`.
"""

from __future__ import annotations

import asyncio
import enum
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from turnmeter.budget import (
    DEFAULT_DECISION_DEADLINE,
    DEFAULT_MAX_STALENESS,
    DEFAULT_REFRESH_INTERVAL,
    BudgetDecision,
    BudgetGuard,
    UnknownUsage,
)
from turnmeter.errors import ConfigError
from turnmeter.pricing import Amount, as_decimal
from turnmeter.validate import positive_int

if TYPE_CHECKING:
    from turnmeter.client import TurnUsage

#: Customers a :class:`CustomerMeter` keeps a guard for at once (least recently asked go first).
DEFAULT_MAX_CUSTOMERS = 1024

Reason = Literal[
    "no_guard", "under_budget", "over_budget", "customer_over_cap", "unknown", "customer_unknown"
]


class OnRefusal(enum.Enum):
    """What :meth:`~turnmeter.credentials.TurnCredentials.issue` does when the policy says no."""

    REFUSE = "refuse"  # raise CredentialRefused: the caller decides
    STUN_ONLY = "stun_only"  # answer STUN servers only: calls still connect where NAT allows


@dataclass(frozen=True, slots=True)
class IssuePolicy:
    """The rules: the account's monthly budget, per-customer egress caps, and the refusal.

    ``budget_usd`` is checked with the account guard (None: no account budget). A customer's
    cap is ``customer_caps_gb[customer]``, else ``default_customer_cap_gb`` (None: uncapped),
    in decimal GB of month-to-date egress; a customer is over once its egress has reached the
    cap (the at-or-over rule of budgets).
    """

    budget_usd: Decimal | None = None
    on_refusal: OnRefusal = OnRefusal.REFUSE
    customer_caps_gb: Mapping[str, Decimal] = field(default_factory=dict)
    default_customer_cap_gb: Decimal | None = None

    def __init__(
        self,
        *,
        budget_usd: Amount | None = None,
        on_refusal: OnRefusal = OnRefusal.REFUSE,
        customer_caps_gb: Mapping[str, Amount] | None = None,
        default_customer_cap_gb: Amount | None = None,
    ) -> None:
        if not isinstance(on_refusal, OnRefusal):
            raise ConfigError(f"on_refusal must be an OnRefusal, got {on_refusal!r}")
        caps = dict(customer_caps_gb or {})
        for customer in caps:
            if not isinstance(customer, str) or not customer:
                raise ConfigError(f"customer_caps_gb keys must be non-empty strings: {customer!r}")
        set_ = object.__setattr__
        set_(self, "budget_usd", _amount(budget_usd, "budget_usd"))
        set_(self, "on_refusal", on_refusal)
        checked = {c: as_decimal(v, f"the cap of {c!r}") for c, v in caps.items()}
        set_(self, "customer_caps_gb", MappingProxyType(checked))
        set_(self, "default_customer_cap_gb", _amount(default_customer_cap_gb, "default cap"))

    def cap_gb(self, customer: str | None) -> Decimal | None:
        """The customer's egress cap in GB, or None when it has none."""
        if customer is None:
            return None
        return self.customer_caps_gb.get(customer, self.default_customer_cap_gb)

    @property
    def has_caps(self) -> bool:
        """True when some customer may have a cap."""
        return bool(self.customer_caps_gb) or self.default_customer_cap_gb is not None


@dataclass(frozen=True, slots=True)
class IssueDecision:
    """Whether to mint, why (``reason``, ``detail``), and the numbers behind it."""

    allowed: bool
    reason: Reason
    customer: str | None
    detail: str
    budget: BudgetDecision | None = None
    customer_egress_bytes: int | None = None
    customer_cap_gb: Decimal | None = None


class CustomerMeter:
    """Month-to-date egress per customer, one :class:`BudgetGuard` each, kept for at most
    ``max_customers`` customers (the least recently asked is stopped and dropped).

    Each guard costs one query per ``refresh_interval`` while its customer is asked about:
    size the interval against Cloudflare's 300 queries per 5 minutes. The guards' other
    arguments are :class:`BudgetGuard`'s.
    """

    def __init__(
        self,
        turn: TurnUsage,
        *,
        max_customers: int = DEFAULT_MAX_CUSTOMERS,
        refresh_interval: float = DEFAULT_REFRESH_INTERVAL,
        max_staleness: float = DEFAULT_MAX_STALENESS,
        on_unknown: UnknownUsage = UnknownUsage.FAIL_CLOSED,
        decision_deadline: float = DEFAULT_DECISION_DEADLINE,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._turn = turn
        self.max_customers = positive_int("max_customers", max_customers)
        # A guard that prices a GB at $1 with no free tier reads "cost" as GB of egress: its
        # check(cap_gb) is then exactly "egress has reached the cap", deadline and unknown
        # policy included (the free tier is the account's, never one customer's).
        self._options: dict[str, Any] = {
            "price_per_gb": 1,
            "free_tier_gb": 0,
            "refresh_interval": refresh_interval,
            "max_staleness": max_staleness,
            "on_unknown": on_unknown,
            "decision_deadline": decision_deadline,
            "clock": clock,
        }
        BudgetGuard(turn, **self._options)  # every option checked now, not at the first issue
        self._guards: OrderedDict[str, BudgetGuard] = OrderedDict()
        self._dropped: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"CustomerMeter(customers={len(self._guards)}, max={self.max_customers})"

    def guard_for(self, customer: str) -> BudgetGuard:
        """The customer's guard (made on first use)."""
        guard = self._guards.get(customer)
        if guard is None:
            guard = BudgetGuard(self._turn, custom_identifier=customer, **self._options)
            self._guards[customer] = guard
            while len(self._guards) > self.max_customers:
                _, old = self._guards.popitem(last=False)
                task = asyncio.ensure_future(old.stop())
                self._dropped.add(task)
                task.add_done_callback(self._dropped.discard)
        else:
            self._guards.move_to_end(customer)
        return guard

    async def check(self, customer: str, cap_gb: Decimal) -> BudgetDecision:
        """``customer``'s month-to-date egress against ``cap_gb`` (GB), within the deadline."""
        return await self.guard_for(customer).check(cap_gb)

    async def close(self) -> None:
        """Stop every guard's refresh."""
        guards = list(self._guards.values())
        self._guards.clear()
        await asyncio.gather(*(guard.stop() for guard in guards), *self._dropped)


async def decide(
    policy: IssuePolicy,
    guard: BudgetGuard | None,
    meter: CustomerMeter | None,
    customer: str | None,
) -> IssueDecision:
    """The policy's answer for ``customer``: the account's budget first, then its own cap.

    Each guard answers within its decision deadline (a warm one at once, without suspending);
    they are asked one after the other, because running them as tasks would cost every warm
    decision two event-loop turns (measured: several times the check itself). Only when both
    are cold (the first decision for a new customer right after start-up) can the wait add up
    to the two deadlines. An account already over budget never waits for the customer's.
    """
    cap = policy.cap_gb(customer)
    budget_usd = policy.budget_usd
    budget = await guard.check(budget_usd) if guard and budget_usd is not None else None
    if budget is not None and not budget.allowed:
        reason: Reason = "over_budget" if budget.reason == "over_budget" else "unknown"
        return IssueDecision(False, reason, customer, budget.detail, budget)
    mine = await meter.check(customer, cap) if meter and customer and cap is not None else None
    if budget is None and mine is None:
        return IssueDecision(True, "no_guard", customer, "no budget or cap applies")
    if mine is None:
        assert budget is not None  # one of the two was asked
        # Allowed: under budget, or unknown under a guard that fails open.
        reason = "unknown" if budget.reason == "unknown" else "under_budget"
        return IssueDecision(True, reason, customer, budget.detail, budget)
    egress = mine.usage.egress_bytes if mine.usage is not None else None
    if mine.reason == "unknown":
        reason = "under_budget" if mine.allowed else "customer_unknown"
        detail = f"customer's egress unknown ({mine.detail})"
    else:
        reason = "under_budget" if mine.allowed else "customer_over_cap"
        detail = _cap_detail(egress, cap, "is below" if mine.allowed else "has reached")
    return IssueDecision(mine.allowed, reason, customer, detail, budget, egress, cap)


def _cap_detail(egress: int | None, cap: Decimal | None, verb: str) -> str:
    # Bytes, not GB: no Decimal division on the path every credential takes.
    return f"customer's month-to-date egress {egress or 0:,} bytes {verb} its cap {cap} GB"


def _amount(value: Amount | None, name: str) -> Decimal | None:
    return None if value is None else as_decimal(value, name)
