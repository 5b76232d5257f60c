"""A small, hand-checkable set of TURN usage rows shared by the client tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from turnmeter.sandbox import UsageRow

#: The sandbox clock for these rows: every row lies in the three days before it.
NOW = datetime(2024, 8, 10, 2, 7, tzinfo=UTC)
START = NOW - timedelta(days=3)

KEYS = ("74007022d80d7ebac4815fb776b9d3ed", "6b9e68b07dfee8cc2d116e4c51d6a957", "k3")
CUSTOMERS = ("custom-id-333", "custom-id-555", "tango", "custom-id-112")
DATACENTERS = (
    ("Frankfurt", "FRA", "DE", "EEUR"),
    ("Ashburn", "IAD", "US", "ENAM"),
    ("Tokyo", "NRT", "JP", "NEAS"),
)


def usage_rows() -> list[UsageRow]:
    """Rows with distinct, irregular byte counts so that sums identify their inputs."""
    rows = []
    for index in range(240):
        minute = START + timedelta(minutes=17 * index)
        key = KEYS[index % 3 if index % 7 else 0]
        customer = CUSTOMERS[(index * 5) % 4]
        city, code, country, region = DATACENTERS[(index // 3) % 3]
        rows.append(
            UsageRow(
                minute=minute,
                key_id=key,
                username=f"user-{index % 9}",
                custom_identifier=customer,
                datacenter_city=city,
                datacenter_code=code,
                datacenter_country=country,
                datacenter_region=region,
                egress_bytes=1_000_003 * (index % 11 + 1) + index * 7919,
                ingress_bytes=10_007 * (index % 5 + 1) + index,
                concurrent_connections=index % 13 + 1,
            )
        )
    # Two rows in the same minute for one key: grouping by minute must add them.
    rows.append(
        UsageRow(
            minute=rows[10].minute,
            key_id=rows[10].key_id,
            username="user-extra",
            custom_identifier="tango",
            datacenter_city="Tokyo",
            datacenter_code="NRT",
            datacenter_country="JP",
            datacenter_region="NEAS",
            egress_bytes=555_555,
            ingress_bytes=4_444,
            concurrent_connections=2,
        )
    )
    return rows
