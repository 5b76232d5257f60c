"""Typed result rows for DSL queries, and the decoder from response groups to values.

Each query shape gets its own frozen, slotted dataclass (made once and cached) whose fields are
the selected names, typed ``datetime`` (UTC) for ``datetime*`` dimensions, ``date`` for
``date``, ``str`` for the other dimensions and ``int`` for every metric. All of them subclass
:class:`QueryRow`. Internally rows travel as plain tuples (dimensions, then metrics): merging
and sorting tuples is the cheap path, and the dataclass is built once per final row.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from turnmeter.errors import MalformedResponse
from turnmeter.query.catalog import FieldSpec

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


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(value)


def _date(value: Any) -> date:
    return date.fromisoformat(value)


def _same(value: Any) -> Any:
    return value


_CONVERTERS: Mapping[str, Callable[[Any], Any]] = {
    "string": _same,
    "int": _same,
    "time": _time,
    "date": _date,
}


def decoder(fields: tuple[FieldSpec, ...]) -> Callable[[Sequence[Any]], list[Values]]:
    """A function turning the node's list of groups into value tuples in ``fields`` order."""
    plan = [(f.block, f.schema, _CONVERTERS[f.kind], _PY_TYPES[f.kind]) for f in fields]

    def decode(groups: Sequence[Any]) -> list[Values]:
        try:
            return [
                tuple(convert(group[block][schema]) for block, schema, convert, _ in plan)
                for group in groups
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedResponse(
                f"a TURN group does not match the query's selection ({type(exc).__name__}: {exc})"
            ) from None

    def checked(groups: Sequence[Any]) -> list[Values]:
        rows = decode(groups)
        # JSON numbers and strings are checked on the first row only: one server, one shape.
        if rows:
            for value, (_, schema, _, py_type) in zip(rows[0], plan, strict=True):
                if not isinstance(value, py_type) or isinstance(value, bool):
                    raise MalformedResponse(f"{schema} came back as {value!r}")
        return rows

    return checked
