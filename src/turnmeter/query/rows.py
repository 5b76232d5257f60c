"""Typed result rows for DSL queries, and the decoder from a response to value tuples.

Each query shape gets its own frozen, slotted dataclass (made once and cached) whose fields are
the selected names, typed ``datetime`` (UTC) for ``datetime*`` dimensions, ``date`` for
``date``, ``str`` for the other dimensions and ``int`` for every metric. All of them subclass
:class:`QueryRow`. Internally rows travel as plain tuples (dimensions, then metrics): merging
and sorting tuples is the cheap path, and the dataclass is built once per final row.

Decoding is the one decoder builder's (:mod:`turnmeter.decode.builder`): the same
``row_decoding.RowDecoder`` the generated usage methods run, built here at run time for the shape
the query composes, checking every leaf of every group against the schema.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from turnmeter.generated import RowDecoder

from turnmeter.query.catalog import FieldSpec
from turnmeter.query.datasets import TURN, Dataset

Values = tuple[Any, ...]

_PY_TYPES: Mapping[str, type] = {"string": str, "time": datetime, "date": date, "int": int}


class QueryRow:
    """Base of every DSL result row; ``as_dict()`` gives the fields by name."""

    __slots__ = ()

    if TYPE_CHECKING:
        # Rows are made per query shape at run time; to a type checker fields read as Any.
        def __getattr__(self, name: str) -> Any: ...

    def as_dict(self) -> dict[str, Any]:
        """The row as ``{field name: value}``, in selection order."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]


@functools.lru_cache(maxsize=256)
def row_class(fields: tuple[FieldSpec, ...]) -> type[QueryRow]:
    """The frozen slotted dataclass for rows with ``fields`` (one per shape)."""
    spec = [(f.name, _PY_TYPES[f.kind]) for f in fields]
    # One name for every shape: rows print as Row(key_id='...', egress_bytes=...).
    cls = dataclasses.make_dataclass("Row", spec, bases=(QueryRow,), frozen=True, slots=True)
    cls.__module__ = __name__
    return cls


@functools.lru_cache(maxsize=256)
def decoder(fields: tuple[FieldSpec, ...], dataset: Dataset = TURN) -> RowDecoder[Values]:
    """The decoder from a response to value tuples in ``fields`` order (one per shape).

    Give it to the transport (``execute(..., decoder=...)``): it is then the one strict type
    walk of the answer.
    """
    paths = tuple(f"{f.block}.{f.schema}" for f in fields)
    # Imported here: graphql-core (the DSL's document and shape) stays out of `import turnmeter`.
    from turnmeter.decode.builder import row_decoder
    from turnmeter.decode.shapes import shape_of
    from turnmeter.query.document import document_for

    shape = shape_of(document_for(fields, dataset), dataset.operation_name)
    return row_decoder(shape, dataset.operation_name, tuple, paths)


def build_rows(cls: type[QueryRow], values: list[Values]) -> list[QueryRow]:
    """Final rows of ``cls`` from value tuples: columns moved in by C, not one call per row."""
    from turnmeter.generated import build_rows as from_columns

    if not values:
        return []
    rows: list[QueryRow] = from_columns(cls, list(zip(*values, strict=True)), len(values))
    return rows


def paused_gc(rows: int) -> Any:
    """A context pausing the cyclic GC while ``rows`` rows are built (when that is many)."""
    from turnmeter.generated import GCPause

    return GCPause(rows)
