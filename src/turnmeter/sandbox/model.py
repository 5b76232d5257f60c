"""The sandbox's data model and configuration: usage rows, node limits, server settings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from turnmeter.sandbox.sfu import SfuRow

#: Cloudflare's documented shape; the sandbox defaults (CLOUDFLARE_API.md, "Node limits").
DEFAULT_MAX_DURATION = 31 * 86400
DEFAULT_NOT_OLDER_THAN = 92 * 86400
DEFAULT_MAX_PAGE_SIZE = 10_000
DEFAULT_MAX_NUMBER_OF_FIELDS = 30

DEFAULT_TOKEN = "sandbox-token"
#: The TURN key API token the sandbox accepts (for every key id): not the analytics token.
DEFAULT_TURN_KEY_TOKEN = "sandbox-turn-key-token"
DEFAULT_ACCOUNT_TAG = "5a7d00c0ffee5a7d00c0ffee5a7d00c0"
#: 300 queries per 5 minutes, each TURN node counted (CLOUDFLARE_API.md, "Rate limits").
DEFAULT_RATE_LIMIT = 300
DEFAULT_RATE_WINDOW = 300.0

DEFAULT_SEED = 7
DEFAULT_DAYS = 7
DEFAULT_KEYS = 3
DEFAULT_CUSTOMERS = 40

ErrorStatusMode = Literal["documented", "always-200"]


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One minute of one (key, username, customer, datacenter) combination."""

    minute: datetime
    key_id: str
    username: str
    custom_identifier: str
    datacenter_city: str
    datacenter_code: str
    datacenter_country: str
    datacenter_region: str
    egress_bytes: int
    ingress_bytes: int
    concurrent_connections: int


@dataclass(frozen=True)
class NodeLimits:
    """What ``settings.callsTurnUsageAdaptiveGroups`` answers, and what the server enforces."""

    max_duration: int = DEFAULT_MAX_DURATION
    not_older_than: int = DEFAULT_NOT_OLDER_THAN
    max_page_size: int = DEFAULT_MAX_PAGE_SIZE
    max_number_of_fields: int = DEFAULT_MAX_NUMBER_OF_FIELDS
    enabled: bool = True


@dataclass(frozen=True)
class SandboxConfig:
    """Everything a sandbox server needs; every field has Cloudflare's documented default.

    Data comes from ``rows`` if given, else from the SQLite file ``database``, else it is
    synthesised deterministically from ``seed`` over ``[now - days, now)``.
    """

    token: str = field(default=DEFAULT_TOKEN, repr=False)
    turn_key_token: str = field(default=DEFAULT_TURN_KEY_TOKEN, repr=False)
    account_tag: str = DEFAULT_ACCOUNT_TAG
    limits: NodeLimits = NodeLimits()
    now: datetime | None = None
    rows: Sequence[UsageRow] | None = field(default=None, repr=False)
    database: Path | None = None
    seed: int = DEFAULT_SEED
    days: int = DEFAULT_DAYS
    keys: int = DEFAULT_KEYS
    customers: int = DEFAULT_CUSTOMERS
    error_status: ErrorStatusMode = "documented"
    rate_limit: int | None = DEFAULT_RATE_LIMIT
    rate_window: float = DEFAULT_RATE_WINDOW
    #: Realtime SFU and several accounts (turnmeter.sandbox.accounts, .sfu): further account
    #: tags the token may read (synthetic data each), tags it may not (403), the main account's
    #: SFU rows (None: derived from its TURN rows) and SFU node limits (None: ``limits``).
    other_accounts: tuple[str, ...] = ()
    forbidden_accounts: tuple[str, ...] = ()
    sfu_rows: Sequence[SfuRow] | None = field(default=None, repr=False)
    sfu_limits: NodeLimits | None = None

    def clock(self) -> datetime:
        """The sandbox's current time: the fixed ``now`` (naive means UTC) or the real time."""
        if self.now is not None:
            if self.now.tzinfo is None:
                return self.now.replace(tzinfo=UTC)
            return self.now.astimezone(UTC)
        return datetime.now(UTC)


def epoch_minute(moment: datetime) -> int:
    """Seconds since the epoch of ``moment`` truncated to its minute (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = int(moment.timestamp())
    return seconds - seconds % 60


def from_epoch(seconds: int) -> datetime:
    """An aware UTC datetime from epoch seconds."""
    return datetime.fromtimestamp(seconds, UTC)
