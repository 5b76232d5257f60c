"""The sandbox's Realtime SFU usage: ``callsUsageAdaptiveGroups``, beside the TURN node.

Rows are one minute of one track (``appId``, ``sessionId``, ``trackId``, ``trackType``) with
``egressBytes`` and ``ingressBytes``; there is no ``avg`` block. The node answers with one SQLite
statement like TURN's (the same filter operators, ``orderBy`` then the grouped fields, the same
node limits and refusals), from its own table.

Synthetic SFU traffic is derived from the account's TURN traffic, so the two agree: the TURN
key's app, one session per (customer, username, hour) that relays through TURN, an audio and a
video track per session, in the same minutes as the TURN rows. Two customers in three use the
SFU; the media a TURN client sends reaches the SFU and is forwarded (the SFU's egress is three
quarters of the TURN ingress, its ingress three quarters of the TURN egress). Those forwarded
bytes are the ones Cloudflare does not charge twice, and that analytics cannot single out.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graphql import GraphQLResolveInfo

from turnmeter.sandbox.limits import check_node
from turnmeter.sandbox.model import NodeLimits, epoch_minute, from_epoch
from turnmeter.sandbox.refusals import Refusal
from turnmeter.sandbox.sql import (
    LIKE_FUNCTION,
    SUMS,
    TIME_DIMENSIONS,
    GroupQuery,
    like_matches,
    where_clause,
)

SFU_FIELD = "callsUsageAdaptiveGroups"
SFU_GROUP_TYPE = "AccountCallsUsageAdaptiveGroups"
SFU_TABLE = "sfu_usage"

#: dimension field -> (SQL expression, kind), as :data:`turnmeter.sandbox.sql.DIMENSIONS`.
SFU_DIMENSIONS: dict[str, tuple[str, str]] = {
    "appId": ("app_id", "string"),
    "sessionId": ("session_id", "string"),
    "trackId": ("track_id", "string"),
    "trackType": ("track_type", "string"),
    **TIME_DIMENSIONS,
}
SFU_SUMS: dict[str, str] = SUMS  # the same two byte counts, in columns of the same names
#: settings.availableFields for the SFU node (nested fields joined with "_").
SFU_AVAILABLE_FIELDS = tuple(
    [f"dimensions_{name}" for name in SFU_DIMENSIONS] + [f"sum_{name}" for name in SFU_SUMS]
)
TRACK_TYPES = ("audio", "video")
#: Shares of a session's bytes per track type, in percent (video carries most of it).
_TRACK_SHARE = {"audio": 15, "video": 85}

#: (epoch minute, app id, session id, track id, track type, egress, ingress)
SfuTuple = tuple[int, str, str, str, str, int, int]
_COLUMNS = ("m", "app_id", "session_id", "track_id", "track_type", "egress_bytes", "ingress_bytes")
_CREATE = f"""
CREATE TABLE {SFU_TABLE} (
    m INTEGER NOT NULL,
    app_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    track_id TEXT NOT NULL,
    track_type TEXT NOT NULL,
    egress_bytes INTEGER NOT NULL,
    ingress_bytes INTEGER NOT NULL
);
"""
_INDEXES = f"""
CREATE INDEX sfu_minute ON {SFU_TABLE} (m, egress_bytes, ingress_bytes);
CREATE INDEX sfu_app ON {SFU_TABLE} (app_id, m, egress_bytes, ingress_bytes);
"""


@dataclass(frozen=True, slots=True)
class SfuRow:
    """One minute of one SFU track."""

    minute: datetime
    app_id: str
    session_id: str
    track_id: str
    track_type: str
    egress_bytes: int
    ingress_bytes: int


def sfu_tuple(row: SfuRow) -> SfuTuple:
    """An SfuRow in the table's column order."""
    return (
        epoch_minute(row.minute),
        row.app_id,
        row.session_id,
        row.track_id,
        row.track_type,
        row.egress_bytes,
        row.ingress_bytes,
    )


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def app_id_for(key_id: str) -> str:
    """The SFU app that uses TURN key ``key_id`` (one app per key)."""
    return _digest(f"app|{key_id}")


def uses_sfu(custom_identifier: str) -> bool:
    """Whether a TURN customer's sessions also go through the SFU (two in three do)."""
    return zlib.crc32(custom_identifier.encode()) % 3 != 0


def derive_sfu(turn_rows: Iterable[Sequence[Any]]) -> list[SfuTuple]:
    """SFU rows consistent with TURN rows (store tuples: minute, key, username, customer, ...,
    egress, ingress, connections), deterministically (see the module docstring)."""
    cells: dict[tuple[int, str, str, str, str], list[int]] = {}
    apps: dict[str, str] = {}
    sessions: dict[tuple[str, str, str, int], tuple[str, dict[str, str]]] = {}
    for row in turn_rows:
        minute, key_id, username, customer = row[0], row[1], row[2], row[3]
        egress, ingress = row[8], row[9]
        if not uses_sfu(customer):
            continue
        app = apps.get(key_id) or apps.setdefault(key_id, app_id_for(key_id))
        hour = minute - minute % 3600
        known = sessions.get((key_id, customer, username, hour))
        if known is None:
            session = _digest(f"session|{key_id}|{customer}|{username}|{hour}")
            tracks = {kind: _digest(f"track|{session}|{kind}") for kind in TRACK_TYPES}
            known = sessions[key_id, customer, username, hour] = (session, tracks)
        session, tracks = known
        sfu_egress, sfu_ingress = ingress * 3 // 4, egress * 3 // 4
        for kind in TRACK_TYPES:
            cell = cells.setdefault((minute, app, session, tracks[kind], kind), [0, 0])
            share = _TRACK_SHARE[kind]
            cell[0] += sfu_egress * share // 100
            cell[1] += sfu_ingress * share // 100
    return [(*key, egress, ingress) for key, (egress, ingress) in cells.items()]


class SfuStore:
    """SFU rows in their own in-memory SQLite table; one statement per node."""

    def __init__(self, rows: Iterable[SfuTuple]) -> None:
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._lock = threading.Lock()
        self._db.create_function(LIKE_FUNCTION, 2, like_matches, deterministic=True)
        self._db.executescript(_CREATE)
        with self._db:
            placeholders = ", ".join("?" * len(_COLUMNS))
            self._db.executemany(f"INSERT INTO {SFU_TABLE} VALUES ({placeholders})", rows)
        self._db.executescript(_INDEXES)

    def group(self, query: GroupQuery) -> list[dict[str, Any]]:
        """Answer one SFU node."""
        sql, params = build_sfu_sql(query)
        with self._lock:
            found = self._db.execute(sql, params).fetchall()
        return decode_sfu_rows(query, found)

    def rows(self) -> list[SfuRow]:
        """Every raw row, in a stable order."""
        with self._lock:
            found = self._db.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM {SFU_TABLE} ORDER BY {', '.join(_COLUMNS[:5])}"
            ).fetchall()
        return [SfuRow(from_epoch(r[0]), *r[1:]) for r in found]

    def add(self, rows: Iterable[SfuRow]) -> int:
        """Insert late rows in one transaction; returns how many."""
        return self.add_tuples([sfu_tuple(row) for row in rows])

    def add_tuples(self, tuples: list[SfuTuple]) -> int:
        """Insert late rows (store tuples) in one transaction; returns how many."""
        placeholders = ", ".join("?" * len(_COLUMNS))
        with self._lock, self._db:
            self._db.executemany(f"INSERT INTO {SFU_TABLE} VALUES ({placeholders})", tuples)
        return len(tuples)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def build_sfu_sql(query: GroupQuery) -> tuple[str, list[Any]]:
    """The one SELECT answering an SFU node, and its parameters."""
    dims = [SFU_DIMENSIONS[name][0] for name in query.dimensions]
    columns = [*dims, *(f"SUM({SFU_SUMS[name]})" for name in query.sums), "COUNT(*)"]
    params: list[Any] = []
    where = where_clause(query.filter, params, SFU_DIMENSIONS)
    sql = f"SELECT {', '.join(columns)} FROM {SFU_TABLE} WHERE {where}"
    if dims:
        sql += " GROUP BY " + ", ".join(dims)
    order = [_order_term(item, query.dimensions) for item in query.order_by]
    order += [f"{expression} ASC" for expression in dims]
    if order:
        sql += " ORDER BY " + ", ".join(order)
    params.append(query.limit)
    return sql + " LIMIT ?", params


def _order_term(item: str, dimensions: tuple[str, ...]) -> str:
    field, _, direction = item.rpartition("_")
    if field.startswith("sum_"):
        return f"SUM({SFU_SUMS[field[4:]]}) {direction}"
    if field in dimensions:
        return f"{SFU_DIMENSIONS[field][0]} {direction}"
    raise Refusal(f'cannot order by "{field}": it is not one of the selected dimensions')


def decode_sfu_rows(query: GroupQuery, rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """SQL rows as SFU group objects (``dimensions``, ``sum``; ``count`` for confidence)."""
    from turnmeter.sandbox.sql import converter

    # One (memoising) converter per dimension for the whole answer, as TURN's groups have.
    converters = [converter(SFU_DIMENSIONS[name][1]) for name in query.dimensions]
    n_dims = len(query.dimensions)
    groups: list[dict[str, Any]] = []
    for row in rows:
        if row[-1] == 0:
            continue  # no dimensions and no rows: an empty list, not a zero row
        dims = {
            name: value if convert is None else convert(value)
            for name, convert, value in zip(query.dimensions, converters, row, strict=False)
        }
        sums = dict(zip(query.sums, row[n_dims:-1], strict=True))
        groups.append({"dimensions": dims, "sum": sums, "avg": {}, "count": row[-1]})
    return groups


def settings_entry(limits: NodeLimits) -> dict[str, Any]:
    """What ``settings.callsUsageAdaptiveGroups`` answers."""
    return {
        "enabled": limits.enabled,
        "availableFields": list(SFU_AVAILABLE_FIELDS),
        "maxDuration": limits.max_duration,
        "maxNumberOfFields": limits.max_number_of_fields,
        "maxPageSize": limits.max_page_size,
        "notOlderThan": limits.not_older_than,
    }


def sfu_fields(
    limits: NodeLimits,
    account_tag: str,
    now: float,
    store: Callable[[], SfuStore],
    confidence: Callable[[Mapping[str, Any]], Any],
    read_query: Callable[..., tuple[GroupQuery, bool]],
) -> Mapping[str, Any]:
    """The SFU node of one account object, for the resolvers.

    ``store`` returns the account's :class:`SfuStore` (built on first use), ``confidence``
    builds a group's ALPHA confidence block and ``read_query`` reads a node's arguments and
    selection (both TURN's, shared: :mod:`turnmeter.sandbox.resolvers`).
    """

    def node(info: GraphQLResolveInfo, **args: Any) -> list[dict[str, Any]]:
        query, with_confidence = read_query(info, args, SFU_GROUP_TYPE, (tuple(SFU_SUMS), ()))
        fields = query.selected_fields
        check_node(limits, account_tag, now, query.filter, query.limit, fields, SFU_FIELD)
        groups = store().group(query)
        if with_confidence:  # one resolver per group, built only when the block is asked for
            for group in groups:
                group["confidence"] = confidence(group)
        return groups

    return {SFU_FIELD: node}
