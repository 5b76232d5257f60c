"""Small, awkward usage rows for the sandbox's own tests.

Values include LIKE metacharacters (``%``, ``_``), mixed case and shared prefixes so that every
filter operator has something to get wrong; byte counts are irregular so sums identify inputs.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from turnmeter.sandbox import UsageRow

#: The sandbox clock for these rows; every row lies in the two days before it.
NOW = datetime(2025, 3, 9, 12, 30, tzinfo=UTC)
START = NOW - timedelta(days=2)

KEYS = ("0a1b2c3d4e5f60718293a4b5c6d7e8f9", "ffee00112233445566778899aabbccdd", "k3")
CUSTOMERS = ("tango", "Tango", "cust_1", "cust%2", "cust-10", "custom-id-333", "zulu")
USERNAMES = ("u-a", "u-b", "U-c", "u_d", "u%e")
DATACENTERS = (
    ("Frankfurt", "FRA", "DE", "WEUR"),
    ("Ashburn", "IAD", "US", "ENAM"),
    ("Tokyo", "NRT", "JP", "APAC"),
    ("San Jose", "SJC", "US", "WNAM"),
)
ROW_COUNT = 300


def awkward_rows(seed: int = 11) -> list[UsageRow]:
    """ROW_COUNT rows spread over two days, clustered so time buckets hold several rows."""
    rng = random.Random(seed)
    rows = []
    for _ in range(ROW_COUNT):
        # cluster minutes into a few hours so 5/15/60-minute buckets aggregate several rows
        hour = rng.choice((0, 1, 5, 13, 24, 30, 47))
        minute = START + timedelta(hours=hour, minutes=rng.randrange(60))
        city, code, country, region = rng.choice(DATACENTERS)
        rows.append(
            UsageRow(
                minute=minute,
                key_id=rng.choice(KEYS),
                username=rng.choice(USERNAMES),
                custom_identifier=rng.choice(CUSTOMERS),
                datacenter_city=city,
                datacenter_code=code,
                datacenter_country=country,
                datacenter_region=region,
                egress_bytes=rng.randrange(1, 10**9),
                ingress_bytes=rng.randrange(1, 10**7),
                concurrent_connections=rng.randrange(1, 30),
            )
        )
    return rows
