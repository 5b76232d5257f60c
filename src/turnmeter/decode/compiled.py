"""The fast decode path: typed rows straight from a TURN response's ``data`` object.

The generated pydantic models cost several microseconds per row, most of it nested model
validation and the garbage collections it triggers. For the hot result shape (one list of
``callsTurnUsageAdaptiveGroups`` whose leaves become a flat row) turnmeter compiles, once per
(query, row type, fields), a small Python function that walks the groups, checks every selected
leaf and builds the row, the way :mod:`dataclasses` and attrs generate ``__init__``.

The checks accept what the slow path (the transport's JSON-type check, then the generated
models, then the facade) accepts, with two deliberate differences: a ``Time`` must be an RFC 3339
string with an offset (``2025-01-01T00:00:00Z``), where pydantic also accepts naive times, dates
and Unix timestamps in strings; and a null ``sum``/``dimensions`` is refused in every account,
where the facade only looked at the first (Cloudflare sends one account per account tag).
Anything else raises :class:`~turnmeter.errors.MalformedResponse`
naming the path, e.g. ``callsTurnUsageAdaptiveGroups[3].sum.egressBytes: expected int64, got 'x'``.

Leaf types and nullability come from the pruned schema (:mod:`turnmeter.decode.shapes`), and
operation texts from ``queries/``: nothing here restates the schema.
"""

from __future__ import annotations

import contextlib
import gc
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

import msgspec

from turnmeter.decode.scalars import (
    BOOL_SCALARS,
    FLOAT_SCALARS,
    INT_RANGES,
    TEXT_SCALARS,
    needs_python_check,
)
from turnmeter.decode.shapes import Shape, shape_of
from turnmeter.errors import MalformedResponse, QueryError

R = TypeVar("R")

#: Above this many groups the cyclic GC is paused while rows are built (see bench/RESULTS.md).
GC_PAUSE_MIN_ROWS = 1_000
#: How much of a bad value an error message quotes.
VALUE_EXCERPT = 40

_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)", re.ASCII)
_ISO_DATE = re.compile(r"\d{4}-\d\d-\d\d", re.ASCII)


class _Bad(Exception):
    """Raised inside compiled decoders; turned into a precise MalformedResponse by _explain."""


# --- Compiling: one small function per (shape, row type, fields) ---------------------------


class RowDecoder(Generic[R]):
    """Turns a response's ``data`` into a list of rows; build it with :func:`decoder_for`."""

    def __init__(self, shape: Shape, row_type: type[R], fields: tuple[str, ...], source: str):
        self.shape = shape
        self.row_type = row_type
        self.fields = fields
        #: The generated source, kept for debugging and for the curious.
        self.source = source
        namespace: dict[str, Any] = _namespace(row_type)
        exec(compile(source, f"<turnmeter.decode.compiled {row_type.__name__}>", "exec"), namespace)
        self._groups: Callable[[list[Any], list[R]], None] = namespace["decode_groups"]
        self._body: Any = _UNBUILT  # the msgspec pair, built on first use (decode_body)

    def __repr__(self) -> str:
        return f"RowDecoder({self.row_type.__name__}, fields={self.fields!r})"

    def __call__(self, data: Any, operation: str | None = None) -> list[R]:
        """Rows of the first account; every account's groups are checked."""
        rows: list[R] | None = None
        for index, groups in enumerate(_accounts_groups(data, self.shape.groups_key, operation)):
            decoded = self.decode_groups(groups, operation, f"accounts[{index}].")
            if rows is None:
                rows = decoded
        assert rows is not None  # _accounts_groups refuses an empty list
        return rows

    def decode_body(self, body: bytes) -> list[R] | None:
        """Rows straight from a response body (msgspec), or ``None``: decode it the usual way.

        ``None`` for anything but a clean answer (errors, nulls, a bad value, not JSON): the
        caller then parses the body and calls the decoder, which classifies or names the fault.
        Both ways accept the same answers and build equal rows.
        """
        if self._body is _UNBUILT:
            self._body = self._build_body_decoder()
        if self._body is None:
            return None
        envelope_decoder, from_structs = self._body
        try:
            envelope = envelope_decoder.decode(body)
        except (msgspec.MsgspecError, RecursionError):
            # RecursionError: nesting deeper than msgspec follows; orjson's verdict decides.
            return None
        if envelope.errors is not None and envelope.errors != []:
            return None
        rows: list[R] | None = None
        for account in envelope.data.viewer.accounts:
            groups = getattr(account, self.shape.groups_key)
            decoded: list[R] = []
            try:
                with _gc_paused(len(groups)):
                    from_structs(groups, decoded)
            except (_Bad, KeyError, TypeError, ValueError, IndexError):
                return None
            if rows is None:
                rows = decoded
        return rows  # None for no account: the usual way says so

    def _build_body_decoder(self) -> tuple[Any, Callable[[list[Any], list[R]], None]] | None:
        from turnmeter.decode.from_bytes import envelope_decoder

        decoder = envelope_decoder(self.shape)
        if decoder is None:
            return None
        source = _source(self.shape, self.row_type, self.fields, structs=True)
        namespace: dict[str, Any] = _namespace(self.row_type)
        exec(
            compile(
                source, f"<turnmeter.decode.compiled {self.row_type.__name__} structs>", "exec"
            ),
            namespace,
        )
        return decoder, namespace["decode_groups"]

    def decode_groups(self, groups: Any, operation: str | None = None, where: str = "") -> list[R]:
        """Rows from one ``callsTurnUsageAdaptiveGroups`` list (a page, a stream's window)."""
        if type(groups) is not list:
            raise _malformed(
                operation, f"{where}{self.shape.groups_key}", "expected a list", groups
            )
        rows: list[R] = []
        try:
            with _gc_paused(len(groups)):
                self._groups(groups, rows)
        except (_Bad, KeyError, TypeError, ValueError, IndexError):
            index = len(rows)
            raise _explain(self.shape, groups[index], operation, where, index) from None
        return rows


#: RowDecoder._body before its first use.
_UNBUILT = object()


class _GCPause:
    """Disables the cyclic GC inside ``with`` and enables it again on the way out."""

    def __enter__(self) -> None:
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        gc.enable()


_NO_PAUSE = contextlib.nullcontext()


def _gc_paused(rows: int) -> contextlib.AbstractContextManager[None]:
    # Building many small tracked objects triggers GC passes over the whole fresh response;
    # pausing the collector for large pages saves about a third of the time. Small answers
    # (most requests) get a shared no-op context: no generator per call.
    if rows >= GC_PAUSE_MIN_ROWS and gc.isenabled():
        return _GCPause()
    return _NO_PAUSE


def decoder_for(
    query: str, operation: str, row_type: type[R], fields: tuple[str, ...]
) -> RowDecoder[R]:
    """The (cached) decoder building ``row_type(*fields)`` from ``operation``'s groups.

    ``fields`` are dotted response paths under a group (``"sum.egressBytes"``), in the order of
    ``row_type``'s constructor; every other selected leaf is still checked.
    """
    shape = shape_of(query, operation)
    key = (shape, row_type, fields)
    decoder = _DECODERS.get(key)
    if decoder is None:
        decoder = _DECODERS[key] = RowDecoder(
            shape, row_type, fields, _source(shape, row_type, fields)
        )
    return decoder


#: Compiled decoders by (shape, row type, fields): a handful per process.
_DECODERS: dict[tuple[Shape, type[Any], tuple[str, ...]], Any] = {}


def _source(
    shape: Shape, row_type: type[Any], wanted: tuple[str, ...], *, structs: bool = False
) -> str:
    """The decoder's source: subscripts into parsed JSON, or attributes of msgspec Structs.

    With ``structs`` msgspec has already checked every leaf but ``Time``/``Date`` (decoded as
    strings, see :mod:`turnmeter.decode.from_bytes`) and ``uint64``'s upper bound: only their checks
    are emitted, so both decoders accept exactly the same values.
    """
    by_path = {".".join(leaf.path): index for index, leaf in enumerate(shape.leaves)}
    missing = [name for name in wanted if name not in by_path]
    if missing:
        raise QueryError(f"the operation does not select {', '.join(missing)}")
    memo = _memoised(shape)
    objects: dict[tuple[str, ...], str] = {(): "g"}
    readers = Counter(leaf.path[:-1] for leaf in shape.leaves)
    lines = ["def decode_groups(groups, rows):", "    append = rows.append"]
    for index in memo:
        lines += [f"    memo{index} = {{}}", f"    get{index} = memo{index}.get"]
    lines.append("    for g in groups:")

    def read(owner: str, key: str) -> str:
        return f"{owner}.{key}" if structs else f"{owner}[{key!r}]"

    for index, leaf in enumerate(shape.leaves):
        parent = leaf.path[:-1]
        for depth in range(1, len(parent) + 1):
            path = parent[:depth]
            # An object read by one leaf only is not worth a name.
            if path not in objects and (depth < len(parent) or readers[path] > 1):
                objects[path] = f"o{len(objects)}"
                lines.append(f"        {objects[path]} = {read(objects[path[:-1]], path[-1])}")
        owner = objects.get(parent) or read(objects[parent[:-1]], parent[-1])
        lines.append(f"        v{index} = {read(owner, leaf.path[-1])}")
        if structs and not needs_python_check(leaf.scalar):
            continue
        check = _checker(leaf.scalar)(f"v{index}")
        if index in memo:
            check = _memo(f"v{index}", index, check)
        if leaf.nullable:
            check = [f"if v{index} is not None:", *(f"    {line}" for line in check)]
        lines.extend(f"        {line}" for line in check)
    values = [f"v{by_path[name]}" for name in wanted]
    lines.extend(f"        {line}" for line in _build(row_type, values))
    return "\n".join(lines) + "\n"


def _memoised(shape: Shape) -> set[int]:
    """Time and date leaves worth a per-response memo of ``text -> value``.

    A time bucket repeats once per group of the other dimensions (hour x key), where a dict hit
    is cheaper than parsing; alone (a plain time series) every bucket is new and a memo only
    costs (see bench/RESULTS.md).
    """
    dimensions = [leaf for leaf in shape.leaves if leaf.path[0] == "dimensions"]
    if len(dimensions) < 2:
        return set()
    return {i for i, leaf in enumerate(shape.leaves) if leaf.scalar in ("Time", "Date")}


def _memo(v: str, index: int, check: list[str]) -> list[str]:
    # Keyed by the raw JSON value; only values that passed the check are stored. An unhashable
    # value fails the lookup with TypeError, which the decoder reports like any bad value.
    return [
        f"m = get{index}({v})",
        "if m is None:",
        f"    k = {v}",
        *(f"    {line}" for line in check),
        f"    memo{index}[k] = {v}",
        "else:",
        f"    {v} = m",
    ]


def _build(row_type: type[Any], values: list[str]) -> list[str]:
    if row_type is tuple:
        # The query DSL's internal rows: plain tuples, merged and sorted before becoming rows.
        return [f"append(({', '.join(values)},))"]
    if _settable(row_type):
        # Frozen dataclasses assign through object.__setattr__; the slot descriptors are
        # the same store without the detour (the generated __init__ does nothing else).
        sets = [f"set{i}(r, {value})" for i, value in enumerate(values)]
        return ["r = new(Row)", *sets, "append(r)"]
    return [f"append(Row({', '.join(values)}))"]


def _settable(row_type: type[Any]) -> bool:
    if not (is_dataclass(row_type) and "__slots__" in vars(row_type)):
        return False
    return not hasattr(row_type, "__post_init__") and all(f.init for f in fields(row_type))


def _namespace(row_type: type[Any]) -> dict[str, Any]:
    namespace: dict[str, Any] = {
        "Row": row_type,
        "new": object.__new__,
        "Bad": _Bad,
        "parse_time": datetime.fromisoformat,
        "parse_date": date.fromisoformat,
        "time_slow": _time_slow,
        "date_slow": _date_slow,
    }
    if _settable(row_type):
        for index, field in enumerate(fields(row_type)):
            namespace[f"set{index}"] = vars(row_type)[field.name].__set__
    return namespace


def _checker(scalar: str) -> Callable[[str], list[str]]:
    """Source lines checking (and converting in place) variable ``v`` as ``scalar``."""
    bounds = INT_RANGES.get(scalar)
    if bounds is not None:
        low, high = bounds
        # type() is, not isinstance: JSON true is a bool, and bool is an int in Python.
        return lambda v: [f"if type({v}) is not int or {v} < {low} or {v} > {high}: raise Bad"]
    if scalar in TEXT_SCALARS:
        return lambda v: [f"if type({v}) is not str: raise Bad"]
    if scalar in FLOAT_SCALARS:
        return lambda v: [
            f"if type({v}) is not float:",
            f"    if type({v}) is not int: raise Bad",
            f"    {v} = float({v})",
        ]
    if scalar in BOOL_SCALARS:
        return lambda v: [f"if type({v}) is not bool: raise Bad"]
    if scalar == "Time":
        # Cloudflare's own form (20 characters, ending in Z) skips the regular expression;
        # its separators sit every third character from index 4: "-", "-", "T", ":", ":", "Z".
        return lambda v: [
            f"if type({v}) is str and len({v}) == 20 and {v}[4::3] == '--T::Z':",
            f"    {v} = parse_time({v})",
            "else:",
            f"    {v} = time_slow({v})",
        ]
    if scalar == "Date":
        return lambda v: [f"{v} = date_slow({v})"]
    raise QueryError(f"the fast path has no decoder for the scalar {scalar!r}")


def _time_slow(value: Any) -> datetime:
    if type(value) is not str or not _RFC3339.fullmatch(value):
        raise _Bad
    return datetime.fromisoformat(value)


def _date_slow(value: Any) -> date:
    if type(value) is not str or not _ISO_DATE.fullmatch(value):
        raise _Bad
    return date.fromisoformat(value)


# --- The walk to the groups, and error messages ---------------------------------------------


def _accounts_groups(data: Any, groups_key: str, operation: str | None) -> list[Any]:
    if type(data) is not dict or "viewer" not in data:
        raise _malformed(operation, "data", "expected an object with 'viewer'", data)
    viewer = data["viewer"]
    if viewer is None:
        raise MalformedResponse(f"{operation or 'response'}: the response has no viewer")
    if type(viewer) is not dict or type(viewer.get("accounts")) is not list:
        raise _malformed(operation, "viewer", "expected an object with an 'accounts' list", viewer)
    accounts = viewer["accounts"]
    if not accounts:
        raise MalformedResponse(
            f"{operation or 'response'}: the response has no account (is the account tag right?)"
        )
    groups = []
    for index, account in enumerate(accounts):
        if type(account) is not dict or groups_key not in account:
            raise _malformed(
                operation, f"accounts[{index}]", f"expected an object with {groups_key!r}", account
            )
        groups.append(account[groups_key])
    return groups


def _explain(
    shape: Shape, group: Any, operation: str | None, where: str, index: int
) -> MalformedResponse:
    """The precise complaint about the group a compiled decoder refused."""
    base = f"{where}{shape.groups_key}[{index}]"
    for leaf in shape.leaves:
        value, path = group, base
        for depth, key in enumerate(leaf.path):
            if type(value) is not dict:
                return _malformed(operation, path, "expected an object", value)
            if key not in value:
                return MalformedResponse(f"{operation or 'response'}: {path}.{key} is missing")
            value, path = value[key], f"{path}.{key}"
            if value is None and (depth < len(leaf.path) - 1 or not leaf.nullable):
                return MalformedResponse(f"{operation or 'response'}: {path} is null")
        if value is not None and not _accepts(leaf.scalar, value):
            return _malformed(operation, path, f"expected {leaf.scalar}", value)
    return MalformedResponse(f"{operation or 'response'}: {base} does not match the schema")


def _accepts(scalar: str, value: Any) -> bool:
    namespace: dict[str, Any] = _namespace(object)
    namespace["v"] = value
    check = "\n".join(_checker(scalar)("v"))
    try:
        exec(check, namespace)
    except (_Bad, ValueError):
        return False
    return True


def _malformed(operation: str | None, path: str, expected: str, value: Any) -> MalformedResponse:
    shown = repr(value)
    if len(shown) > VALUE_EXCERPT:
        shown = shown[:VALUE_EXCERPT] + "..."
    return MalformedResponse(f"{operation or 'response'}: {path}: {expected}, got {shown}")
