"""What TURN egress costs: $0.05 per GB beyond 1,000 GB a month (GB = 10^9 bytes).

Both numbers are configurable because Cloudflare's prices and your contract may differ. The free
tier is per account and per calendar month (shared with the Realtime SFU), so it applies to an
account's month-to-date total, never to one customer's share. Money is :class:`~decimal.Decimal`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from turnmeter.errors import ConfigError

#: Cloudflare bills decimal gigabytes.
BYTES_PER_GB = Decimal(10**9)
#: Cloudflare's TURN price per GB of egress (USD).
DEFAULT_PRICE_PER_GB = Decimal("0.05")
#: Free egress per month, shared by TURN and the SFU (GB).
DEFAULT_FREE_TIER_GB = Decimal(1000)

Amount = Decimal | float | int | str


def as_decimal(value: Amount, name: str) -> Decimal:
    """``value`` as a non-negative Decimal (floats through their shortest repr)."""
    try:
        # A Decimal is taken as it is (the guard's check gets one per credential minted).
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ConfigError(f"{name} must be a non-negative number, got {value!r}")
    return amount


def is_over_budget(cost_usd: Decimal, budget_usd: Decimal) -> bool:
    """Over budget once the cost has reached the budget: ``cost_usd >= budget_usd``.

    The one rule behind ``BudgetGuard.check`` and ``turnmeter budget``. A budget of 0 is
    therefore always reached (to stay inside the free tier, watch ``free_tier_left_bytes``).
    """
    # A budget is a hard monthly cap: the most the user means to pay. The question is asked
    # before spending more (minting a credential), so at a cost equal to the cap nothing is
    # left and anything further can only go past it; "budget left: $0.00" must read as over.
    return cost_usd >= budget_usd


@dataclass(frozen=True, slots=True)
class Pricing:
    """Egress price and monthly free tier."""

    price_per_gb: Decimal = DEFAULT_PRICE_PER_GB
    free_tier_gb: Decimal = DEFAULT_FREE_TIER_GB

    @classmethod
    def of(cls, price_per_gb: Amount | None = None, free_tier_gb: Amount | None = None) -> Pricing:
        """Pricing from user input; None keeps Cloudflare's list value."""
        return cls(
            as_decimal(price_per_gb, "price_per_gb")
            if price_per_gb is not None
            else DEFAULT_PRICE_PER_GB,
            as_decimal(free_tier_gb, "free_tier_gb")
            if free_tier_gb is not None
            else DEFAULT_FREE_TIER_GB,
        )

    @staticmethod
    def gigabytes(egress_bytes: int) -> Decimal:
        """Decimal gigabytes."""
        return Decimal(egress_bytes) / BYTES_PER_GB

    def list_cost(self, egress_bytes: int) -> Decimal:
        """Cost at the list price, ignoring the free tier (one customer's share, say)."""
        return self.gigabytes(egress_bytes) * self.price_per_gb

    def month_cost(self, month_egress_bytes: int) -> Decimal:
        """What an account's month of egress costs after the free tier."""
        billable = max(Decimal(0), self.gigabytes(month_egress_bytes) - self.free_tier_gb)
        return billable * self.price_per_gb

    def free_tier_left_bytes(self, month_egress_bytes: int) -> int:
        """Bytes of free tier left this month."""
        return max(0, int(self.free_tier_gb * BYTES_PER_GB) - month_egress_bytes)


@dataclass(frozen=True, slots=True)
class RealtimeEgress:
    """One account's month of Realtime egress, TURN and SFU, and the bill it can stand for.

    Cloudflare bills TURN and the SFU on one line with one free tier, and does not charge twice
    for TURN traffic to and from the SFU. Analytics cannot tell which TURN bytes those were, so
    the billed egress is only known between two bounds:

    * **upper** ``turn + sfu_egress``: no TURN byte touched the SFU;
    * **lower** ``sfu_egress + max(0, turn - (sfu_egress + sfu_ingress))``: as many TURN bytes
      as possible were SFU traffic. TURN egress that is SFU traffic either came from the SFU
      (at most the SFU's egress) or went to it (at most the SFU's ingress), and the SFU's own
      egress is always billed.

    The budget guard and ``turnmeter bill``'s over-budget verdict use the upper bound: a budget
    switch that overcounts stops minting early, one that undercounts spends past the budget.
    """

    turn_egress_bytes: int
    sfu_egress_bytes: int
    sfu_ingress_bytes: int

    @property
    def upper_bytes(self) -> int:
        """Billed egress if no TURN byte went to or came from the SFU (the guard's figure)."""
        return self.turn_egress_bytes + self.sfu_egress_bytes

    @property
    def lower_bytes(self) -> int:
        """Billed egress if as many TURN bytes as possible were SFU traffic."""
        sfu_traffic = self.sfu_egress_bytes + self.sfu_ingress_bytes
        return self.sfu_egress_bytes + max(0, self.turn_egress_bytes - sfu_traffic)
