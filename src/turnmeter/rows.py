"""Small typed result rows: frozen, slotted, cheap to build and to compare."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class KeyUsage:
    """Egress of one TURN key."""

    key_id: str
    egress_bytes: int


@dataclass(frozen=True, slots=True)
class CustomerUsage:
    """Egress of one custom identifier (one of your customers)."""

    custom_identifier: str
    egress_bytes: int


@dataclass(frozen=True, slots=True)
class CustomerKeyUsage:
    """Egress of one custom identifier through one TURN key."""

    custom_identifier: str
    key_id: str
    egress_bytes: int


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """Egress in one minute (``minute`` is the bucket's start, UTC)."""

    minute: datetime
    egress_bytes: int


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """Bytes moved over a whole range; zero when there was no usage."""

    egress_bytes: int
    ingress_bytes: int


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
