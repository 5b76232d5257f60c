"""Typed result rows for DSL queries, and the decoder from a response to value tuples.

Each query shape gets its own frozen msgspec ``Struct`` (made once and cached) whose fields are
the selected names, typed ``datetime`` (UTC) for ``datetime*`` dimensions, ``date`` for
``date``, ``str`` for the other dimensions and ``int`` for every metric. All of them subclass
:class:`QueryRow`, and :mod:`dataclasses` reads them as the frozen dataclasses they used to be
(``row_decoding.dataclass_view``). The decoder builds them straight from the response, in C (a
Struct's ``__init__``); windows are merged, sorted and cut on those rows, with no value tuples
in between.

Decoding is the one decoder builder's (:mod:`turnmeter.decode.builder`): the same
``row_decoding.RowDecoder`` the generated usage methods run, built here at run time for the shape
the query composes, checking every leaf of every group against the schema.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from turnmeter.generated import RowDecoder

from turnmeter.query.catalog import FieldSpec
from turnmeter.query.datasets import TURN, Dataset

_PY_TYPES: Mapping[str, type] = {"string": str, "time": datetime, "date": date, "int": int}


class QueryRow:
    """Base of every DSL result row; ``as_dict()`` gives the fields by name."""

    __slots__ = ()

    if TYPE_CHECKING:
        # Rows are made per query shape at run time; to a type checker fields read as Any.
        def __getattr__(self, name: str) -> Any: ...

    def as_dict(self) -> dict[str, Any]:
        """The row as ``{field name: value}``, in selection order."""
        names: tuple[str, ...] = getattr(self, "__struct_fields__", ())
        return {name: getattr(self, name) for name in names}


@functools.lru_cache(maxsize=256)
def row_class(fields: tuple[FieldSpec, ...]) -> type[QueryRow]:
    """The frozen row class for rows with ``fields`` (one per shape)."""
    # Imported here: msgspec stays out of `import turnmeter`.
    import msgspec

    from turnmeter.generated import dataclass_view

    spec = [(f.name, _PY_TYPES[f.kind]) for f in fields]
    # One name for every shape: rows print as Row(key_id='...', egress_bytes=...).
    cls = msgspec.defstruct(
        "Row", spec, bases=(_struct_base(),), module=__name__, frozen=True, gc=False
    )
    row: type[QueryRow] = dataclass_view(cls)  # type: ignore[assignment]  # the base is one
    return row


@functools.cache
def _struct_base() -> type[QueryRow]:
    # A Struct base that is also a QueryRow: isinstance(row, QueryRow) holds for every shape.
    import msgspec

    class StructRow(msgspec.Struct, QueryRow, frozen=True, gc=False):
        pass

    return StructRow


@functools.lru_cache(maxsize=256)
def decoder(fields: tuple[FieldSpec, ...], dataset: Dataset = TURN) -> RowDecoder[QueryRow]:
    """The decoder from a response to rows of :func:`row_class` (one per shape).

    Give it to the transport (``execute(..., decoder=...)``): it is then the one strict type
    walk of the answer.
    """
    paths = tuple(f"{f.block}.{f.schema}" for f in fields)
    # Imported here: graphql-core (the DSL's document and shape) stays out of `import turnmeter`.
    from turnmeter.decode.builder import row_decoder
    from turnmeter.decode.shapes import shape_of
    from turnmeter.query.document import document_for

    shape = shape_of(document_for(fields, dataset), dataset.operation_name)
    return row_decoder(shape, dataset.operation_name, row_class(fields), paths)
