"""Synthetic TURN traffic that looks real, deterministic from a seed.

Customers have heavy-tailed (Pareto) activity, one or a few TURN usernames each, a home region
with its time zone (diurnal cycle) and one or two datacenters there; weekends are quieter; a few
bursts (a big meeting, an abuser) add long sessions with many connections. Traffic is made of
:class:`Session` values (connections that open, relay bytes each minute, and close); each minute
of each session becomes part of a row, so ``concurrent_connections`` is the connections open in
that minute. Only minutes with traffic become rows, so a week for 40 customers is tens of
thousands of rows, not millions.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from turnmeter.sandbox.model import UsageRow, epoch_minute, from_epoch
from turnmeter.sandbox.store import RowTuple

#: Sessions a customer of average weight starts per day (sizes the data set).
DEFAULT_SESSIONS_PER_CUSTOMER_DAY = 8.0
#: Bursts per day across the whole account.
BURSTS_PER_DAY = 0.5
MINUTES_PER_DAY = 1440
WEEKEND_FACTOR = 0.55
PARETO_ALPHA = 1.3
MAX_SESSION_MINUTES = 240

# (code, city, country, region); a few datacenters per Cloudflare region.
DATACENTERS: tuple[tuple[str, str, str, str], ...] = (
    ("SJC", "San Jose", "US", "WNAM"),
    ("LAX", "Los Angeles", "US", "WNAM"),
    ("SEA", "Seattle", "US", "WNAM"),
    ("EWR", "Newark", "US", "ENAM"),
    ("IAD", "Ashburn", "US", "ENAM"),
    ("ORD", "Chicago", "US", "ENAM"),
    ("YYZ", "Toronto", "CA", "ENAM"),
    ("LHR", "London", "GB", "WEUR"),
    ("FRA", "Frankfurt", "DE", "WEUR"),
    ("AMS", "Amsterdam", "NL", "WEUR"),
    ("CDG", "Paris", "FR", "WEUR"),
    ("WAW", "Warsaw", "PL", "EEUR"),
    ("OTP", "Bucharest", "RO", "EEUR"),
    ("NRT", "Tokyo", "JP", "APAC"),
    ("SIN", "Singapore", "SG", "APAC"),
    ("BOM", "Mumbai", "IN", "APAC"),
    ("SYD", "Sydney", "AU", "OC"),
    ("GRU", "Sao Paulo", "BR", "SAM"),
    ("JNB", "Johannesburg", "ZA", "AFR"),
    ("DXB", "Dubai", "AE", "ME"),
)

# region -> (share of customers, UTC offset in hours) — where the busy hours fall.
REGIONS: dict[str, tuple[float, int]] = {
    "WNAM": (0.18, -8),
    "ENAM": (0.24, -5),
    "WEUR": (0.26, 1),
    "EEUR": (0.07, 2),
    "APAC": (0.12, 8),
    "OC": (0.04, 10),
    "SAM": (0.05, -3),
    "AFR": (0.02, 2),
    "ME": (0.02, 4),
}


@dataclass(frozen=True)
class TrafficSpec:
    """How much synthetic traffic to make, and for which clock."""

    now: datetime
    seed: int = 7
    days: int = 7
    keys: int = 3
    customers: int = 40
    sessions_per_customer_day: float = DEFAULT_SESSIONS_PER_CUSTOMER_DAY


@dataclass(frozen=True)
class _Customer:
    name: str
    key_id: str
    usernames: tuple[str, ...]
    datacenters: tuple[int, ...]
    region: str
    weight: float


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def _customers(rng: random.Random, spec: TrafficSpec) -> list[_Customer]:
    keys = [_hex(rng, 32) for _ in range(max(spec.keys, 1))]
    key_weights = [1.0 / (rank + 1) for rank in range(len(keys))]  # the first key is busiest
    regions = list(REGIONS)
    shares = [REGIONS[r][0] for r in regions]
    customers = []
    for index in range(spec.customers):
        region = rng.choices(regions, shares)[0]
        local = [i for i, dc in enumerate(DATACENTERS) if dc[3] == region]
        datacenters = tuple(rng.sample(local, min(len(local), rng.choice((1, 1, 2)))))
        customers.append(
            _Customer(
                name=f"customer-{index:04d}",
                key_id=rng.choices(keys, key_weights)[0],
                usernames=tuple(_hex(rng, 24) for _ in range(rng.choice((1, 1, 2, 3)))),
                datacenters=datacenters,
                region=region,
                weight=min(rng.paretovariate(PARETO_ALPHA), 60.0),
            )
        )
    return customers


def _diurnal_table(second_of_day: int, offset_hours: int) -> list[float]:
    """Relative activity for each minute of a day-long window starting at ``second_of_day``."""
    table = []
    for k in range(MINUTES_PER_DAY):
        local_hour = ((second_of_day // 60 + k) / 60 + offset_hours) % 24
        # quiet at night, a morning ramp, an evening peak around 20:00 local
        table.append(0.05 + max(0.0, math.sin(math.pi * (local_hour - 6) / 17)) ** 2)
    return table


@dataclass(frozen=True, slots=True)
class Session:
    """``connections`` TURN connections through one (key, username, customer, datacenter),
    open together from the minute ``start`` for ``len(egress)`` minutes.

    ``egress`` and ``ingress`` are the bytes relayed in each of those minutes. A session cut by
    the end of the data set keeps only its minutes before the end.
    """

    start: int  # epoch seconds of its first minute
    connections: int
    key_id: str
    username: str
    custom_identifier: str
    datacenter: int  # index into DATACENTERS
    egress: tuple[int, ...]
    ingress: tuple[int, ...]

    @property
    def minutes(self) -> int:
        return len(self.egress)

    @property
    def end(self) -> int:
        """Epoch seconds just after its last minute."""
        return self.start + 60 * len(self.egress)


def _session(
    rng: random.Random, customer: _Customer, start: int, end: int, boost: int = 1
) -> Session:
    """One session of ``customer`` starting at ``start``, cut at ``end``."""
    user = rng.choice(customer.usernames)
    dc = rng.choice(customer.datacenters)
    minutes = min(int(rng.lognormvariate(2.2, 0.9)) + 1, MAX_SESSION_MINUTES) * boost
    connections = rng.choice((1, 1, 1, 2, 2, 3)) * boost
    per_minute = rng.lognormvariate(math.log(9e6), 0.6)  # ~1.2 Mbit/s per connection
    egress: list[int] = []
    ingress: list[int] = []
    for step in range(minutes):
        if start + step * 60 >= end:
            break
        bytes_out = int(per_minute * connections * rng.uniform(0.6, 1.4))
        egress.append(bytes_out)
        ingress.append(int(bytes_out * rng.uniform(0.7, 1.05)))
    return Session(
        start, connections, customer.key_id, user, customer.name, dc, tuple(egress), tuple(ingress)
    )


def sessions(spec: TrafficSpec) -> list[Session]:
    """The synthetic sessions for ``spec``: the traffic :func:`generate` turns into rows."""
    rng = random.Random(spec.seed)
    end = epoch_minute(spec.now)
    start = end - spec.days * MINUTES_PER_DAY * 60
    customers = _customers(rng, spec)
    mean_weight = sum(c.weight for c in customers) / max(len(customers), 1)
    tables = {r: _diurnal_table(start % 86400, off) for r, (_, off) in REGIONS.items()}
    bursts = _bursts(rng, spec, len(customers), start)
    out: list[Session] = []
    for index, customer in enumerate(customers):
        rate = spec.sessions_per_customer_day * customer.weight / mean_weight
        for day in range(spec.days):
            day_start = start + day * 86400
            weekend = ((day_start // 86400) + 3) % 7 >= 5  # epoch day 0 was a Thursday
            expected = rate * (WEEKEND_FACTOR if weekend else 1.0)
            count = int(expected) + (rng.random() < expected % 1)
            offsets = rng.choices(range(MINUTES_PER_DAY), tables[customer.region], k=count)
            starts = [(day_start + k * 60, 1) for k in offsets]
            starts += [(s, boost) for c, s, boost in bursts if c == index and day == 0]
            out.extend(_session(rng, customer, s, end, boost) for s, boost in starts)
    return out


def rows_from_sessions(traffic: Iterable[Session]) -> list[RowTuple]:
    """One row per (minute, key, username, customer, datacenter) that has an open session.

    A row's ``concurrent_connections`` is the number of connections open during its minute,
    summed over the sessions that share the row; its bytes are summed the same way.
    """
    cells: dict[tuple[str, str, int, str, int], list[int]] = {}
    for session in traffic:
        for step, (egress, ingress) in enumerate(zip(session.egress, session.ingress, strict=True)):
            key = (
                session.custom_identifier,
                session.key_id,
                session.start + step * 60,
                session.username,
                session.datacenter,
            )
            cell = cells.get(key)
            if cell is None:
                cells[key] = [egress, ingress, session.connections]
            else:
                cell[0] += egress
                cell[1] += ingress
                cell[2] += session.connections
    return [
        (minute, key_id, user, customer, *_dc_fields(dc), e, i, cc)
        for (customer, key_id, minute, user, dc), (e, i, cc) in cells.items()
    ]


def usage_rows(traffic: Iterable[Session]) -> list[UsageRow]:
    """:func:`rows_from_sessions` as :class:`UsageRow` values (for ``SandboxConfig(rows=...)``)."""
    return [UsageRow(from_epoch(row[0]), *row[1:]) for row in rows_from_sessions(traffic)]


def generate(spec: TrafficSpec) -> list[RowTuple]:
    """The synthetic rows for ``spec``: :func:`sessions` as :func:`rows_from_sessions`."""
    return rows_from_sessions(sessions(spec))


def _bursts(
    rng: random.Random, spec: TrafficSpec, n_customers: int, start: int
) -> list[tuple[int, int, int]]:
    """(customer index, start minute, size factor) for a few outsized sessions."""
    if n_customers == 0:
        return []
    count = max(1, round(spec.days * BURSTS_PER_DAY))
    span = spec.days * MINUTES_PER_DAY
    return [
        (rng.randrange(n_customers), start + rng.randrange(span) * 60, rng.choice((4, 6, 10)))
        for _ in range(count)
    ]


def _dc_fields(index: int) -> tuple[str, str, str, str]:
    code, city, country, region = DATACENTERS[index]
    return city, code, country, region
