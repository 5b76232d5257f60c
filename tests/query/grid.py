"""Dense usage rows for the query tests: two days, every two minutes, with a gap and ties.

Small node limits (3 h windows, pages of 25) make these rows need many windows and pages; the
gap makes whole windows empty; several rows share each minute and each hour, so page edges fall
inside runs of equal values.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from turnmeter.sandbox import NodeLimits, SandboxConfig, UsageRow

NOW = datetime(2024, 8, 10, 2, 0, tzinfo=UTC)
START = NOW - timedelta(days=2)
#: No usage in [GAP_START, GAP_END): more than three windows of three hours.
GAP_START = START + timedelta(hours=20)
GAP_END = GAP_START + timedelta(hours=10)

KEYS = ("k-alpha", "k-beta", "k-gamma")
USERS = ("u-0", "u-1", "u-2", "u-10", "bot-1", "bot-2")
CUSTOMERS = ("cust-a", "cust-b", "cust-c", "tango")
DATACENTERS = (
    ("Frankfurt", "FRA", "DE", "EEUR"),
    ("Ashburn", "IAD", "US", "ENAM"),
    ("Tokyo", "NRT", "JP", "NEAS"),
)

#: Small pages: most multi-dimension windows need several.
PAGE = 25
SMALL_LIMITS = NodeLimits(
    max_duration=3 * 3600, max_page_size=PAGE, not_older_than=3 * 86400, max_number_of_fields=8
)
#: The same rows with limits lifted: the single-query reference.
LIFTED_LIMITS = NodeLimits(max_duration=31 * 86400, max_page_size=10_000)
TOKEN = "query-tests-token"
STEP_MINUTES = 2


def grid_rows() -> list[UsageRow]:
    """About 2,300 rows with irregular byte counts (sums identify their inputs)."""
    rows = []
    step = 0
    minute = START
    while minute < NOW:
        if not GAP_START <= minute < GAP_END:
            for lane in range(1 + step % 3):
                index = step * 3 + lane
                city, code, country, region = DATACENTERS[(step + lane) % 3]
                rows.append(
                    UsageRow(
                        minute=minute,
                        key_id=KEYS[(step + 2 * lane + step // 7) % 3],
                        username=USERS[(step * 5 + lane * 3 + step // 5) % len(USERS)],
                        custom_identifier=CUSTOMERS[(step + lane * 3) % 4],
                        datacenter_city=city,
                        datacenter_code=code,
                        datacenter_country=country,
                        datacenter_region=region,
                        egress_bytes=1_000_003 * (index % 11 + 1) + index * 7919,
                        ingress_bytes=10_007 * (index % 5 + 1) + index,
                        concurrent_connections=index % 13 + 1,
                    )
                )
        step += 1
        minute += timedelta(minutes=STEP_MINUTES)
    return rows


def config(limits: NodeLimits) -> SandboxConfig:
    """A sandbox over :func:`grid_rows` with ``limits`` and the fixed clock."""
    return SandboxConfig(token=TOKEN, now=NOW, rows=grid_rows(), limits=limits, rate_limit=None)
