"""Small, awkward SFU rows: LIKE metacharacters, mixed case, shared prefixes, irregular bytes."""

from __future__ import annotations

import random
from datetime import timedelta

from tests.sandbox.rows import START
from turnmeter.sandbox import SfuRow

APPS = ("app_1", "App-1", "app%2", "f00dfeed", "zz")
SESSIONS = ("s-a", "s-b", "S_c", "s%d")
TRACKS = ("t1", "t2", "T_3", "t%4", "t10")
TRACK_TYPES = ("audio", "video", "Video")
#: SFU string dimension -> SfuRow attribute (for the brute-force oracle).
SFU_STRING_FIELDS = {
    "appId": "app_id",
    "sessionId": "session_id",
    "trackId": "track_id",
    "trackType": "track_type",
}
SFU_ROW_COUNT = 300


def awkward_sfu_rows(seed: int = 17) -> list[SfuRow]:
    """SFU_ROW_COUNT rows over the same two days as the awkward TURN rows."""
    rng = random.Random(seed)
    return [
        SfuRow(
            minute=START
            + timedelta(hours=rng.choice((0, 1, 5, 13, 24, 30, 47)), minutes=rng.randrange(60)),
            app_id=rng.choice(APPS),
            session_id=rng.choice(SESSIONS),
            track_id=rng.choice(TRACKS),
            track_type=rng.choice(TRACK_TYPES),
            egress_bytes=rng.randrange(1, 10**9),
            ingress_bytes=rng.randrange(1, 10**7),
        )
        for _ in range(SFU_ROW_COUNT)
    ]
