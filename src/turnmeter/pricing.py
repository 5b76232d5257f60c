"""What TURN egress costs: $0.05 per GB beyond 1,000 GB a month (GB = 10^9 bytes).

Both numbers are configurable because Cloudflare's prices and your contract may differ. The free
tier is per account and per calendar month (shared with the Realtime SFU), so it applies to an
account's month-to-date total, never to one customer's share.
"""

from __future__ import annotations

from dataclasses import dataclass

from turnmeter.errors import ConfigError

BYTES_PER_GB = 1_000_000_000
DEFAULT_PRICE_PER_GB = 0.05
DEFAULT_FREE_TIER_GB = 1_000.0


@dataclass(frozen=True, slots=True)
class Pricing:
    """Egress price and monthly free tier."""

    price_per_gb: float = DEFAULT_PRICE_PER_GB
    free_tier_gb: float = DEFAULT_FREE_TIER_GB

    def __post_init__(self) -> None:
        if self.price_per_gb < 0 or self.free_tier_gb < 0:
            raise ConfigError("price_per_gb and free_tier_gb must not be negative")

    def list_cost(self, egress_bytes: int) -> float:
        """Cost at the list price, ignoring the free tier (one customer's share, say)."""
        return egress_bytes / BYTES_PER_GB * self.price_per_gb

    def billable_gb(self, month_egress_bytes: int) -> float:
        """GB beyond the free tier for an account's month."""
        return max(0.0, month_egress_bytes / BYTES_PER_GB - self.free_tier_gb)

    def month_cost(self, month_egress_bytes: int) -> float:
        """What an account's month of egress costs after the free tier."""
        return self.billable_gb(month_egress_bytes) * self.price_per_gb

    def free_tier_left_bytes(self, month_egress_bytes: int) -> int:
        """Bytes of free tier left this month."""
        return max(0, round(self.free_tier_gb * BYTES_PER_GB) - month_egress_bytes)
