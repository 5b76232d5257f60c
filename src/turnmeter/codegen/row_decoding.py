"""Typed rows from a TURN answer: msgspec from bytes, or a strict walk that names the bad value.

ariadne-codegen copies this file into the generated package (``files_to_include``), where the
decoders the turnmeter plugin writes at generation time are :class:`RowDecoder` instances built
from literal leaf specs; the query DSL builds the same class at run time for the shapes it
composes (``turnmeter.decode.builder``). It imports nothing from turnmeter.

Two ways, one verdict:

* :meth:`RowDecoder.decode_body`: msgspec decodes the body into ``Struct`` objects in C (strict
  ints and int64 bounds, strings, floats, bools, non-null objects, ``Time`` and ``Date`` parsed
  as RFC 3339; unselected fields skipped), then the decoder's ``build`` makes the rows: one
  list comprehension over the leaf paths, ``[SeriesPoint(g.dimensions.datetimeMinute,
  g.sum.egressBytes) for g in groups]``, written at generation time (``usage_rows.py``) or, for
  the DSL's shapes, by ``turnmeter.decode.builder`` at run time. Its attribute reads are the
  interpreter's specialised slot reads and the rows are frozen msgspec Structs built in C:
  twice as fast as the row class mapped over ``attrgetter`` columns, which is what a decoder
  given no ``build`` does. Any other body (a bad value, ``errors``) makes it decline with
  ``None``.
* :meth:`RowDecoder.__call__`: the strict walk over parsed JSON. It refuses what the schema does
  not allow with :class:`Refused`, whose message names the path: ``UsageTimeseries:
  accounts[0].callsTurnUsageAdaptiveGroups[3].sum.egressBytes: expected int64, got 'x'``.
  Its ``Time`` and ``Date`` are msgspec's own parsers (``msgspec.convert``): one grammar, RFC
  3339 with an offset, whichever way a body takes.

Whatever the first way accepts, the second accepts with equal rows.
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from operator import attrgetter
from typing import Annotated, Any, Generic, NamedTuple, TypeVar

import msgspec

R = TypeVar("R")
S = TypeVar("S", bound=type)

#: Above this many groups the cyclic GC is paused while rows are built.
GC_PAUSE_MIN_ROWS = 1_000
#: How much of a bad value an error message quotes.
VALUE_EXCERPT = 40
#: The widest integer msgspec bounds in C; wider bounds (uint64) are checked on the column.
_INT64 = (-(2**63), 2**63 - 1)

#: A Cloudflare ``Time``: RFC 3339 with an offset (a naive time would not compare with aware ones).
_AWARE_TIME = Annotated[datetime, msgspec.Meta(tz=True)]


class Refused(ValueError):
    """The answer does not match the operation: the message names the value's path."""


class Leaf(NamedTuple):
    """One selected scalar under a group, as the generator (or the DSL) resolved it."""

    path: tuple[str, ...]
    #: Cloudflare's scalar name, quoted in messages (``int64``, ``Time``).
    scalar: str
    #: ``int``, ``text``, ``float``, ``bool``, ``time`` or ``date``.
    kind: str
    nullable: bool
    low: int | None = None
    high: int | None = None


class RowDecoder(Generic[R]):
    """Rows of ``row`` (``tuple`` for value tuples) from the leaves numbered by ``columns``.

    Every leaf is checked; ``columns`` pick the row's fields, in the constructor's order.
    """

    def __init__(
        self,
        operation: str,
        groups_key: str,
        leaves: Sequence[Leaf],
        row: type[R],
        columns: Sequence[int],
        build: Callable[[list[Any]], list[R]] | None = None,
    ) -> None:
        self.operation = operation
        self.groups_key = groups_key
        self.leaves = tuple(leaves)
        self.row = row
        self.columns = tuple(columns)
        self._assemble = _assembler(row)
        self._envelope = _envelope(groups_key, self.leaves)
        #: ``build(groups)``: the rows from msgspec's groups, one field per column's leaf path.
        self._build = build or _mapped(row, [self.leaves[i].path for i in self.columns])
        # Leaves msgspec cannot fully check (ints wider than int64) get a look at their column.
        self._checks = [
            (attrgetter(".".join(leaf.path)), convert)
            for leaf in self.leaves
            if (convert := _converter(leaf)) is not None
        ]

    def __repr__(self) -> str:
        return f"RowDecoder({self.operation}, {self.row.__name__}, columns={self.columns!r})"

    def decode_body(self, body: bytes) -> list[R] | None:
        """Rows straight from a clean response body, or ``None``: then call the decoder."""
        if self._envelope is None:
            return None
        try:
            envelope = self._envelope.decode(body)
        except (msgspec.MsgspecError, RecursionError):
            return None
        if envelope.errors is not None and envelope.errors != []:
            return None
        rows: list[R] | None = None
        for account in envelope.data.viewer.accounts:
            groups = getattr(account, self.groups_key)
            try:
                with GCPause(len(groups)):
                    built = self._from_structs(groups)
            except (TypeError, ValueError):
                return None
            if rows is None:
                rows = built
        return rows  # None for no account: the walk says so

    def _from_structs(self, groups: list[Any]) -> list[R]:
        for getter, convert in self._checks:
            convert(list(map(getter, groups)))
        return self._build(groups)

    def __call__(self, data: Any, operation: str | None = None) -> list[R]:
        """Rows of the first account from a parsed ``data`` object; every account is checked."""
        name = operation or self.operation
        rows: list[R] | None = None
        for index, groups in enumerate(_accounts_groups(data, self.groups_key, name)):
            decoded = self.decode_groups(groups, name, f"accounts[{index}].")
            if rows is None:
                rows = decoded
        assert rows is not None  # _accounts_groups refuses an empty list
        return rows

    def decode_groups(self, groups: Any, operation: str | None = None, where: str = "") -> list[R]:
        """Rows from one parsed groups list, checking every leaf of every group."""
        name = operation or self.operation
        base = f"{where}{self.groups_key}"
        if type(groups) is not list:
            raise _refused(name, base, "expected a list", groups)
        values: list[list[Any]] = [[] for _ in self.leaves]
        with GCPause(len(groups)):
            for number, group in enumerate(groups):
                for leaf, column in zip(self.leaves, values, strict=True):
                    column.append(_walk(leaf, group, name, f"{base}[{number}]"))
            return self._assemble([values[i] for i in self.columns], len(groups))


def dataclass_view(row: S) -> S:
    """Let :mod:`dataclasses` read a frozen msgspec ``Struct`` row as the dataclass it replaced.

    ``dataclasses.fields``, ``asdict``, ``astuple``, ``replace`` and ``is_dataclass`` keep
    working on rows (their public surface from when rows were frozen dataclasses): the Struct
    gets the field table of a frozen dataclass twin with the same fields.
    """
    names = row.__struct_fields__  # type: ignore[attr-defined]
    annotations = row.__annotations__
    twin = dataclasses.make_dataclass(
        row.__name__, [(n, annotations[n]) for n in names], frozen=True
    )
    row.__dataclass_fields__ = twin.__dataclass_fields__  # type: ignore[attr-defined]
    row.__dataclass_params__ = twin.__dataclass_params__  # type: ignore[attr-defined]
    return row


class GCPause:
    """``with GCPause(rows):`` pauses the cyclic GC while that many rows are built (if many).

    Building many small tracked objects triggers GC passes over the whole fresh response.
    """

    __slots__ = ("_paused",)

    def __init__(self, rows: int) -> None:
        self._paused = rows >= GC_PAUSE_MIN_ROWS and gc.isenabled()

    def __enter__(self) -> None:
        if self._paused:
            gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self._paused:
            gc.enable()


# --- The fast way: msgspec types and whole-column conversions -------------------------------


def _envelope(groups_key: str, leaves: Sequence[Leaf]) -> msgspec.json.Decoder[Any] | None:
    keys = [groups_key, *(key for leaf in leaves for key in leaf.path)]
    if not all(key.isidentifier() and not key.startswith("_") for key in keys):
        return None  # msgspec field names must be names; the walk does it all
    group = _struct("Group", leaves, 0)
    account = _defstruct("Account", [(groups_key, list[group])])  # type: ignore[valid-type]
    viewer = _defstruct("Viewer", [("accounts", list[account])])  # type: ignore[valid-type]
    data = _defstruct("Data", [("viewer", viewer)])
    # errors: any JSON; a present, non-empty list sends the body to the classifying path.
    envelope = _defstruct("Envelope", [("data", data), ("errors", object, None)])
    return msgspec.json.Decoder(envelope)


def _defstruct(name: str, members: Sequence[tuple[Any, ...]]) -> type[msgspec.Struct]:
    # gc=False: these objects hold no cycles and die right after the rows are built.
    return msgspec.defstruct(name, list(members), gc=False)


def _struct(name: str, leaves: Sequence[Leaf], depth: int) -> type[msgspec.Struct]:
    children: dict[str, list[Leaf]] = {}
    for leaf in leaves:
        children.setdefault(leaf.path[depth], []).append(leaf)
    members: list[tuple[str, Any]] = []
    for key, under in children.items():
        if len(under) == 1 and len(under[0].path) == depth + 1:
            members.append((key, _leaf_type(under[0])))
        else:  # objects between a group and its leaves are never null
            members.append((key, _struct(key.capitalize(), under, depth + 1)))
    return _defstruct(name, members)


def _leaf_type(leaf: Leaf) -> Any:
    kind: Any
    if leaf.kind == "int":
        low = leaf.low if leaf.low is not None and leaf.low >= _INT64[0] else None
        high = leaf.high if leaf.high is not None and leaf.high <= _INT64[1] else None
        kind = Annotated[int, msgspec.Meta(ge=low, le=high)]
    else:
        kind = {"text": str, "float": float, "bool": bool, "time": _AWARE_TIME, "date": date}[
            leaf.kind
        ]
    return kind | None if leaf.nullable else kind


def _converter(leaf: Leaf) -> Callable[[list[Any]], list[Any]] | None:
    # Only integers wider than int64 (msgspec bounds int64 in C) need a look at the column.
    if leaf.kind == "int" and (
        (leaf.high is not None and leaf.high > _INT64[1])
        or (leaf.low is not None and leaf.low < _INT64[0])
    ):
        low, high = leaf.low, leaf.high

        def bounded(column: list[Any]) -> list[Any]:
            present = [value for value in column if value is not None] if leaf.nullable else column
            if present and (
                (high is not None and max(present) > high)
                or (low is not None and min(present) < low)
            ):
                raise ValueError("out of range")
            return column

        return bounded
    return None


def _mapped(row: type[Any], paths: Sequence[tuple[str, ...]]) -> Callable[[list[Any]], list[Any]]:
    """A ``build`` for a decoder given none: the row class mapped over ``attrgetter`` columns."""
    getters = [attrgetter(".".join(path)) for path in paths]
    assemble = _assembler(row)
    return lambda groups: assemble([map(get, groups) for get in getters], len(groups))


def _assembler(row: type[Any]) -> Callable[[Sequence[Iterable[Any]], int], list[Any]]:
    """How columns (lists or iterators) become rows: zip for value tuples, else the row class
    mapped over the columns (the generated rows and the DSL's are frozen msgspec Structs)."""
    if row is tuple:
        return lambda columns, count: list(zip(*columns, strict=True)) if columns else [()] * count
    return lambda columns, count: list(map(row, *columns)) if columns else [row()] * count


# --- The strict walk, and its messages -------------------------------------------------------


def _walk(leaf: Leaf, group: Any, operation: str, where: str) -> Any:
    value, path = group, where
    last = len(leaf.path) - 1
    for depth, key in enumerate(leaf.path):
        if type(value) is not dict:
            raise _refused(operation, path, "expected an object", value)
        if key not in value:
            raise Refused(f"{operation}: {path}.{key} is missing")
        value, path = value[key], f"{path}.{key}"
        if value is None and (depth < last or not leaf.nullable):
            raise Refused(f"{operation}: {path} is null")
    if value is None:
        return None
    checked = _check(leaf, value)
    if checked is _BAD:
        raise _refused(operation, path, f"expected {leaf.scalar}", value)
    return checked


_BAD: Any = object()


def _check(leaf: Leaf, value: Any) -> Any:
    kind = leaf.kind
    if kind == "int":
        # type() is, not isinstance: JSON true is a bool, and bool is an int in Python.
        if type(value) is not int:
            return _BAD
        if (leaf.low is not None and value < leaf.low) or (
            leaf.high is not None and value > leaf.high
        ):
            return _BAD
        return value
    if kind == "text":
        return value if type(value) is str else _BAD
    if kind == "float":
        if type(value) is float:
            return value
        return float(value) if type(value) is int else _BAD
    if kind == "bool":
        return value if type(value) is bool else _BAD
    if type(value) is not str:
        return _BAD
    try:  # msgspec's own parsers: the same grammar as the msgspec way's
        return msgspec.convert(value, _AWARE_TIME if kind == "time" else date)
    except msgspec.ValidationError:
        return _BAD


def _accounts_groups(data: Any, groups_key: str, operation: str) -> list[Any]:
    if type(data) is not dict or "viewer" not in data:
        raise _refused(operation, "data", "expected an object with 'viewer'", data)
    viewer = data["viewer"]
    if viewer is None:
        raise Refused(f"{operation}: the response has no viewer")
    if type(viewer) is not dict or type(viewer.get("accounts")) is not list:
        raise _refused(operation, "viewer", "expected an object with an 'accounts' list", viewer)
    accounts = viewer["accounts"]
    if not accounts:
        raise Refused(f"{operation}: the response has no account (is the account tag right?)")
    groups = []
    for index, account in enumerate(accounts):
        if type(account) is not dict or groups_key not in account:
            raise _refused(
                operation, f"accounts[{index}]", f"expected an object with {groups_key!r}", account
            )
        groups.append(account[groups_key])
    return groups


def _refused(operation: str, path: str, expected: str, value: Any) -> Refused:
    shown = repr(value)
    if len(shown) > VALUE_EXCERPT:
        shown = shown[:VALUE_EXCERPT] + "..."
    return Refused(f"{operation}: {path}: {expected}, got {shown}")
