"""The DSL without a server: names, rules, filter compilation, documents, windows, keysets."""

from __future__ import annotations

import dataclasses
import itertools
import os
import pickle
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from functools import cmp_to_key

import pytest
from cf_analytics import AccountCallsTurnUsageAdaptiveGroupsFilter_InputObject as FilterInput
from hypothesis import given
from hypothesis import strategies as st

from turnmeter import OrderBy, QueryError
from turnmeter.query import DIMENSIONS, METRICS, F, Query
from turnmeter.query.datasets import SFU
from turnmeter.query.document import document_for
from turnmeter.query.rows import QueryRow, row_class
from turnmeter.query.windows import Window, keyset_after, sort_rows, split

T0 = datetime(2024, 8, 8, 2, 0, tzinfo=UTC)
FILTER_KEYS = {field.alias or name for name, field in FilterInput.model_fields.items()}


def test_spellings_name_the_same_fields() -> None:
    friendly = Query(dimensions=["hour", "key_id"], metrics=["egress_bytes"], order_by=["-egress"])
    schema = Query(
        dimensions=["datetimeHour", "dimensions.keyId"],
        metrics=["sum.egressBytes"],
        order_by=[OrderBy.sum_egressBytes_DESC],
    )
    assert friendly == schema
    assert friendly.order_keys == schema.order_keys
    # Tuples take the fast path in, and come out written the friendly way all the same.
    as_tuples = Query(
        dimensions=("datetimeHour", "dimensions.keyId"),
        metrics=("sum.egressBytes",),
        order_by=(OrderBy.sum_egressBytes_DESC,),
    )
    assert as_tuples == friendly
    assert (as_tuples.dimensions, as_tuples.metrics, as_tuples.order_by) == (
        ("hour", "key_id"),
        ("egress_bytes",),
        ("-egress_bytes",),
    )
    assert dataclasses.replace(as_tuples, limit=3).order_by == ("-egress_bytes",)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dimensions": ["country"]}, "unknown dimension 'country'"),
        ({"metrics": ["egress_gb"]}, "unknown metric 'egress_gb'"),
        ({"metrics": ["key_id"]}, "unknown metric 'key_id'"),
        ({"dimensions": ["hour", "datetimeHour"]}, "selected twice"),
        ({"metrics": []}, "at least one dimension or metric"),
        ({"metrics": ["avg_connections_hour"]}, "add the 'hour' dimension"),
        (
            {"dimensions": ["minute"], "metrics": ["avg_connections_hour"]},
            "add the 'hour' dimension",
        ),
        ({"dimensions": ["key_id"], "order_by": ["-ingress"]}, "'ingress_bytes' is not selected"),
        ({"order_by": ["-nonsense"]}, "unknown order_by"),
        ({"limit": 0}, "limit must be a positive integer"),
        ({"limit": True}, "limit must be a positive integer"),
        ({"where": {"keyId": "x"}}, "where must be a condition"),
        ({"dimensions": [["key_id"]]}, "field names must be strings, got list"),
        ({"order_by": [{"-egress": 1}]}, "order_by"),
    ],
)
def test_invalid_queries_fail_where_they_are_written(kwargs: dict, message: str) -> None:
    # Twice: the checked selections are kept per distinct selection, and a refusal is not.
    for _ in range(2):
        with pytest.raises(QueryError, match=message):
            Query(**kwargs)


def test_avg_with_its_time_dimension_is_accepted() -> None:
    query = Query(dimensions=["five_minutes"], metrics=["avg_connections_five_minutes"])
    assert query.has_avg
    assert [f.name for f in query.time_dimensions] == ["five_minutes"]


def test_queries_are_values() -> None:
    query = Query(dimensions=["key_id"], where=F.key_id.in_(["a", "b"]), limit=5)
    assert hash(query) == hash(dataclasses.replace(query))
    assert dataclasses.replace(query, limit=6).limit == 6


def test_queries_survive_pickling_into_another_process() -> None:
    # Field specs keep their hash, computed once; one unpickled in a process with another
    # string hash seed must hash as that process's own specs do.
    script = (
        "import pickle, sys; from turnmeter.query import Query; "
        "q = pickle.loads(sys.stdin.buffer.read()); "
        "own = Query(dimensions=['key_id', 'minute'], order_by=['-egress_bytes']); "
        "assert q == own and hash(q) == hash(own), 'unequal'; "
        "assert set(q.dimension_specs) == set(own.dimension_specs), 'specs'; print('ok')"
    )
    query = Query(dimensions=["key_id", "minute"], order_by=["-egress_bytes"])
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=pickle.dumps(query),
        capture_output=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        check=False,
    )
    assert done.stdout.strip() == b"ok", done.stderr.decode()[-500:]
    sfu = Query(dimensions=["app_id"], dataset=SFU)
    assert pickle.loads(pickle.dumps(sfu)).dataset is SFU


def test_conditions_compile_to_filter_keys() -> None:
    where = F.key_id.in_(["a", "b", "a"]) & (
        F.username.like("bot-%") | (F.custom_identifier != "x")
    )
    assert where.to_filter() == {
        "AND": [
            {"keyId_in": ["a", "b"]},
            {"OR": [{"username_like": "bot-%"}, {"customIdentifier_neq": "x"}]},
        ]
    }
    # a & b & c is one AND, and the generated input model accepts the whole object
    flat = F.key_id == "a"
    flat = flat & (F.username == "u") & (F.hour >= T0)
    assert len(flat.to_filter()["AND"]) == 3
    FilterInput.model_validate(where.to_filter())


def test_negation_is_pushed_down() -> None:
    where = ~((F.key_id == "a") & (F.hour < T0)) | ~F.username.in_(["u"])
    assert where.to_filter() == {
        "OR": [{"keyId_neq": "a"}, {"datetimeHour_geq": T0}, {"username_notin": ["u"]}]
    }


def test_every_operator_of_every_dimension_is_a_schema_filter_key() -> None:
    values = {"string": "v", "time": T0, "date": date(2024, 8, 8)}
    for spec in DIMENSIONS:
        field = getattr(F, spec.name)
        value = values[spec.kind]
        conditions = [
            field == value, field != value, field < value, field <= value,
            field > value, field >= value, field.in_([value]), field.notin([value]),
        ]  # fmt: skip
        if spec.kind == "string":
            conditions += [field.like("v%"), field.notlike("v%")]
        else:
            assert not hasattr(field, "like")
        for condition in conditions:
            (key,) = condition.to_filter()
            assert key in FILTER_KEYS
            assert FilterInput.model_validate(condition.to_filter()).model_fields_set


@pytest.mark.parametrize(
    "build",
    [
        lambda: F.hour >= datetime(2024, 8, 8),  # naive
        lambda: F.key_id == 3,
        lambda: F.date == T0,  # a datetime is not a date
        lambda: F.key_id.in_("abc"),  # a string is not a list of values
        lambda: F.key_id.in_([]),
        lambda: (F.key_id == "a") & "b",
    ],
)
def test_bad_values_are_refused(build) -> None:
    with pytest.raises(QueryError):
        build()


def test_documents_are_validated_once_per_shape() -> None:
    query = Query(dimensions=["datacenter_country", "hour"], metrics=["egress_bytes"])
    text = document_for(query.fields)
    assert document_for(query.fields) is text
    assert "$filter: AccountCallsTurnUsageAdaptiveGroupsFilter_InputObject!" in text
    assert "$limit: uint64!" in text
    assert "$accountTag: string!" in text
    assert "$orderBy: [AccountCallsTurnUsageAdaptiveGroupsOrderBy!]" in text
    # dimension order is kept: it is the server's tie-breaking order
    assert text.index("datacenterCountry") < text.index("datetimeHour")


def test_every_field_compiles() -> None:
    every = tuple(DIMENSIONS) + tuple(METRICS)
    text = document_for(every)
    for spec in every:
        assert spec.schema in text


def test_rows_are_typed_frozen_and_slotted() -> None:
    query = Query(dimensions=["date", "hour", "key_id"], metrics=["egress_bytes"])
    cls = row_class(query.fields)
    assert row_class(query.fields) is cls
    assert issubclass(cls, QueryRow)
    hints = {f.name: f.type for f in dataclasses.fields(cls)}
    assert hints == {"date": date, "hour": datetime, "key_id": str, "egress_bytes": int}
    row = cls(date(2024, 8, 8), T0, "k", 5)
    assert row.as_dict() == {"date": date(2024, 8, 8), "hour": T0, "key_id": "k", "egress_bytes": 5}
    assert repr(row).startswith("Row(date=")
    with pytest.raises(AttributeError):
        row.key_id = "other"  # type: ignore[misc]
    assert not hasattr(row, "__dict__")


@given(
    start=st.integers(0, 10 * 86400),
    length=st.integers(1, 5 * 86400),
    max_minutes=st.integers(1, 3 * 24 * 60),
    alignment=st.sampled_from([60, 300, 900, 3600, 86400]),
)
def test_windows_cover_the_range_exactly(
    start: int, length: int, max_minutes: int, alignment: int
) -> None:
    since = T0 + timedelta(seconds=start)
    until = since + timedelta(seconds=length)
    max_duration = timedelta(minutes=max_minutes)
    if max_duration.total_seconds() < alignment:
        with pytest.raises(QueryError):
            split(since, until, max_duration, alignment)
        return
    windows = split(since, until, max_duration, alignment)
    assert windows[0].start == since
    assert windows[-1].end == until
    for before, after in itertools.pairwise(windows):
        assert before.end == after.start  # half-open and contiguous: no gap, no overlap
        assert int(before.end.timestamp()) % alignment == 0
    assert all(w.start < w.end <= w.start + max_duration for w in windows)


def test_split_of_an_aligned_range() -> None:
    windows = split(T0, T0 + timedelta(hours=6), timedelta(hours=3), 60)
    assert windows == [
        Window(T0, T0 + timedelta(hours=3)),
        Window(T0 + timedelta(hours=3), T0 + timedelta(hours=6)),
    ]


def test_keyset_is_an_or_of_ands() -> None:
    query = Query(dimensions=["hour", "key_id", "username"])
    hour, key, user = query.dimension_specs
    assert keyset_after([hour], [T0]) == {"datetimeHour_gt": T0}
    assert keyset_after([hour, key, user], [T0, "k", "u"]) == {
        "OR": [
            {"datetimeHour_gt": T0},
            {"datetimeHour": T0, "keyId_gt": "k"},
            {"datetimeHour": T0, "keyId": "k", "username_gt": "u"},
        ]
    }


@given(
    rows=st.lists(
        st.tuples(st.sampled_from("abc"), st.sampled_from("xyz"), st.integers(0, 3)),
        unique_by=lambda r: r[:2],
    ),
    descending=st.booleans(),
)
def test_sort_repeats_the_server_order(rows: list, descending: bool) -> None:
    order = "-egress_bytes" if descending else "egress_bytes"
    query = Query(dimensions=["key_id", "username"], order_by=[order])

    def compare(a: tuple, b: tuple) -> int:
        if a[2] != b[2]:
            return (
                (a[2] > b[2]) - (a[2] < b[2]) if not descending else (a[2] < b[2]) - (a[2] > b[2])
            )
        return (a[:2] > b[:2]) - (a[:2] < b[:2])

    assert sort_rows(query, list(rows)) == sorted(rows, key=cmp_to_key(compare))
