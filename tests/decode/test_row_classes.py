"""The public rows are frozen msgspec Structs that :mod:`dataclasses` still reads as dataclasses.

They were frozen slotted dataclasses; users' ``dataclasses.asdict(row)``, ``replace`` and
``fields`` keep working (``row_decoding.dataclass_view``), and assignment is still refused.
"""

from __future__ import annotations

import dataclasses
import gc
import pickle
from datetime import UTC, datetime

import pytest

from turnmeter import Query
from turnmeter.query.rows import QueryRow, row_class
from turnmeter.rows import CustomerKeyUsage, KeyUsage, SeriesPoint, UsageTotals

MINUTE = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("cls", [SeriesPoint, KeyUsage, CustomerKeyUsage, UsageTotals])
def test_generated_rows_answer_the_dataclass_functions(cls: type) -> None:
    assert dataclasses.is_dataclass(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    assert names == list(cls.__struct_fields__)
    values = [
        MINUTE if name == "minute" else f"v{i}" if "id" in name else i
        for i, name in enumerate(names)
    ]
    row = cls(*values)
    assert dataclasses.astuple(row) == tuple(values)
    assert dataclasses.asdict(row) == dict(zip(names, values, strict=True))
    changed = dataclasses.replace(row, **{names[-1]: 99})
    assert type(changed) is cls
    assert getattr(changed, names[-1]) == 99
    assert getattr(row, names[-1]) == values[-1]


def test_rows_are_frozen_hashable_slotted_and_picklable() -> None:
    row = SeriesPoint(MINUTE, 5)
    with pytest.raises(AttributeError):
        row.egress_bytes = 6  # type: ignore[misc]
    assert not hasattr(row, "__dict__")
    assert {row, SeriesPoint(MINUTE, 5)} == {row}
    assert row != SeriesPoint(MINUTE, 6)
    assert pickle.loads(pickle.dumps(row)) == row
    assert repr(row) == f"SeriesPoint(minute={MINUTE!r}, egress_bytes=5)"
    # Rows hold only scalars: the cyclic GC need not track them (what makes big pages cheap).
    assert not gc.is_tracked(row)


def test_dsl_rows_are_query_rows_and_dataclass_readable() -> None:
    cls = row_class(Query(dimensions=["minute", "key_id"], metrics=["egress_bytes"]).fields)
    row = cls(MINUTE, "k", 7)
    assert isinstance(row, QueryRow)
    assert (
        dataclasses.asdict(row)
        == row.as_dict()
        == {"minute": MINUTE, "key_id": "k", "egress_bytes": 7}
    )
    assert dataclasses.replace(row, key_id="j").key_id == "j"
    assert not gc.is_tracked(row)
