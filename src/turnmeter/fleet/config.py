"""How a budget guard joins a fleet: where Redis is, the lease, and what to do without Redis."""

from __future__ import annotations

import enum
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

from turnmeter.errors import ConfigError
from turnmeter.transport.redis_conn import DEFAULT_REDIS_TIMEOUT
from turnmeter.transport.redis_url import ENV_REDIS_URL, RedisURL

#: The key prefix of every fleet key: ``NAME:guard:ACCOUNT:SCOPE:{lease,reading}``.
DEFAULT_FLEET_NAME = "turnmeter"
#: A lease lasts this many refresh intervals unless ``lease_ttl`` says otherwise: the holder
#: renews every interval, so two missed renewals are tolerated before another replica takes over.
LEASE_INTERVALS = 3


class RedisDown(enum.Enum):
    """What a guard does while Redis is unreachable (logged when it starts and ends)."""

    #: Query Cloudflare itself, as a guard without a fleet does (through its own rate budget,
    #: which falls back to its local share): the number stays known, the fleet sends more.
    POLL_LOCALLY = "poll_locally"
    #: Send nothing: the last number ages, and past ``max_staleness`` ``on_unknown`` decides
    #: (fail open or fail closed, as configured).
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Fleet:
    """A budget guard shared by replicas through Redis at ``url`` (a secret, shown hidden).

    One replica per account and scope holds the lease and queries; the others read its number
    and age from Redis. ``lease_ttl`` defaults to three refresh intervals; ``timeout`` bounds
    each Redis command.
    """

    url: RedisURL | str
    name: str = DEFAULT_FLEET_NAME
    lease_ttl: float | None = None
    on_redis_down: RedisDown = RedisDown.POLL_LOCALLY
    timeout: float = DEFAULT_REDIS_TIMEOUT

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", RedisURL.of(self.url))
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError(f"Fleet name must be a non-empty string, not {self.name!r}")
        for label, value in (("lease_ttl", self.lease_ttl), ("timeout", self.timeout)):
            if value is not None and not (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and math.isfinite(value)
                and value > 0
            ):
                raise ConfigError(f"Fleet {label} must be finite positive seconds, not {value!r}")
        if not isinstance(self.on_redis_down, RedisDown):
            raise ConfigError(
                f"Fleet on_redis_down must be a RedisDown, not {self.on_redis_down!r}"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Fleet | None:
        """A fleet at ``$TURNMETER_REDIS_URL``, or None when it is not set."""
        url = (os.environ if environ is None else environ).get(ENV_REDIS_URL)
        return cls(RedisURL(url)) if url else None

    def lease_for(self, refresh_interval: float) -> float:
        """The lease's ttl for a guard refreshing every ``refresh_interval`` seconds."""
        return self.lease_ttl if self.lease_ttl is not None else LEASE_INTERVALS * refresh_interval
