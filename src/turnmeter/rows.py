"""Small typed result rows: frozen, slotted, cheap to build and to compare.

The seed methods' rows are generated (``generated/cf_analytics/usage_rows.py``, one per
operation in ``queries/``, written by turnmeter's ariadne-codegen plugin with their decoders) and
re-exported here under their public names; ``DatasetLimits`` is turnmeter's reading of the
generated ``TurnNodeLimits`` model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # explicit re-exports; at run time they load on first use (__getattr__)
    from turnmeter.generated import CustomerKeyUsage as CustomerKeyUsage
    from turnmeter.generated import CustomerUsage as CustomerUsage
    from turnmeter.generated import KeyUsage as KeyUsage
    from turnmeter.generated import SeriesPoint as SeriesPoint
    from turnmeter.generated import UsageTotals as UsageTotals


@dataclass(frozen=True, slots=True)
class DatasetLimits:
    """The TURN node's limits for an account, as Cloudflare reports them at run time.

    ``available_fields`` names nested fields the way Cloudflare does, parent and child joined by
    an underscore (``sum_egressBytes``, ``dimensions_keyId``).
    """

    enabled: bool
    available_fields: tuple[str, ...]
    max_duration: timedelta
    max_number_of_fields: int
    max_page_size: int
    not_older_than: timedelta


_GENERATED = frozenset(
    {"CustomerKeyUsage", "CustomerUsage", "KeyUsage", "SeriesPoint", "UsageTotals"}
)


def __getattr__(name: str) -> Any:
    # The generated rows load on first use (with their decoders and msgspec).
    if name not in _GENERATED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import turnmeter.generated

    value = getattr(turnmeter.generated, name)
    globals()[name] = value
    return value
