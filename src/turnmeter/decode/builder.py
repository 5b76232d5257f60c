"""The one decoder builder: what an operation selects -> the leaf specs of a :class:`RowDecoder`.

Two callers, one recipe:

* **the generator** (:mod:`turnmeter.codegen.plugin`), at generation time, for every operation in
  ``queries/``: :func:`decoder_source` writes the row class and the decoder as literals into
  ``generated/cf_analytics/usage_rows.py``;
* **the query DSL** (:mod:`turnmeter.query.rows`), at run time, for the shapes it composes:
  :func:`row_decoder` builds the same :class:`RowDecoder` from the same specs.

The decoder itself (msgspec from bytes, the strict walk) is ``row_decoding``, copied into the
generated package; both callers run that code. Each decoder is given its ``build``, the list
comprehension that makes its rows from msgspec's groups (:func:`rows_source`): written into
``usage_rows.py`` by the generator (nothing is compiled at run time for those operations),
compiled once per shape for the DSL. Its text holds field names from the schema only, never a
value.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from turnmeter.decode.scalars import scalar_kind
from turnmeter.decode.shapes import Shape
from turnmeter.errors import QueryError

if TYPE_CHECKING:
    from turnmeter.generated import RowDecoder

#: Python type of each decoder kind, as written in a generated row class.
PYTHON_TYPES = {
    "int": "int",
    "text": "str",
    "float": "float",
    "bool": "bool",
    "time": "datetime",
    "date": "date",
}

LeafSpec = tuple[tuple[str, ...], str, str, bool, int | None, int | None]


@dataclass(frozen=True, slots=True)
class RowSpec:
    """A generated row class: its name, docstring and ``(field, response path)`` pairs."""

    name: str
    doc: str
    fields: tuple[tuple[str, str], ...]


def leaf_specs(shape: Shape) -> tuple[LeafSpec, ...]:
    """``(path, scalar, kind, nullable, low, high)`` for every leaf, checks from the scalars."""
    specs: list[LeafSpec] = []
    for leaf in shape.leaves:
        kind, bounds = scalar_kind(leaf.scalar)
        low, high = bounds if bounds is not None else (None, None)
        specs.append((leaf.path, leaf.scalar, kind, leaf.nullable, low, high))
    return tuple(specs)


def columns(shape: Shape, paths: Sequence[str]) -> tuple[int, ...]:
    """The leaf numbers of ``paths`` (dotted response paths), in the row's order."""
    by_path = {".".join(leaf.path): index for index, leaf in enumerate(shape.leaves)}
    missing = [path for path in paths if path not in by_path]
    if missing:
        raise QueryError(f"the operation does not select {', '.join(missing)}")
    return tuple(by_path[path] for path in paths)


def rows_source(
    function: str, row: str | None, paths: Sequence[tuple[str, ...]], *, annotated: bool = False
) -> str:
    """``def function(groups)``: the rows ``row(*paths)`` (``row=None``: value tuples).

    One comprehension, ``[SeriesPoint(g.dimensions.datetimeMinute, g.sum.egressBytes) for g in
    groups]``; a name that is not plain attribute syntax (a keyword: ``g.from`` would not
    parse) is read with ``getattr`` and the name as a string literal.
    """
    reads = []
    for path in paths:
        read = "g"
        for key in path:
            plain = key.isidentifier() and not keyword.iskeyword(key)
            read = f"{read}.{key}" if plain else f"getattr({read}, {key!r})"
        reads.append(read)
    if row is None:
        made = f"({', '.join(reads)},)" if reads else "()"
    else:
        made = f"{row}({', '.join(reads)})"
    typed = f"(groups: list[Any]) -> list[{row or 'tuple[Any, ...]'}]" if annotated else "(groups)"
    return f"def {function}{typed}:\n    return [{made} for g in groups]\n"


def row_decoder(
    shape: Shape, operation: str, row: type[Any], paths: Sequence[str]
) -> RowDecoder[Any]:
    """The run-time caller: a decoder of ``row(*paths)`` (``tuple`` for value tuples)."""
    from turnmeter.generated import DecoderLeaf, RowDecoder

    leaves = [DecoderLeaf(*spec) for spec in leaf_specs(shape)]
    numbers = columns(shape, paths)
    build = compiled_rows(row, [leaves[i].path for i in numbers])
    return RowDecoder(operation, shape.groups_key, leaves, row, numbers, build)


def compiled_rows(row: type[Any], paths: Sequence[tuple[str, ...]]) -> Callable[[list[Any]], Any]:
    """``build(groups)`` for ``row(*paths)``, compiled from :func:`rows_source`.

    The generator writes this function into usage_rows.py; a DSL shape exists only at run
    time, so its function is compiled here, once per shape (the DSL caches its decoders).
    """
    source = rows_source("build", None if row is tuple else "row", paths)
    namespace: dict[str, Any] = {"row": row}
    exec(compile(source, f"<rows of {row.__name__}>", "exec"), namespace)
    built: Callable[[list[Any]], Any] = namespace["build"]
    return built


def decoder_source(shape: Shape, operation: str, constant: str, row: RowSpec) -> str:
    """The generation-time caller: the row class and its decoder, as Python source."""
    specs = leaf_specs(shape)
    kinds = {".".join(spec[0]): (spec[2], spec[3]) for spec in specs}
    lines = [
        "@dataclass_view",
        f"class {row.name}(msgspec.Struct, frozen=True, gc=False):",
        f'    """{row.doc}"""',
        "",
    ]
    for field, path in row.fields:
        kind, nullable = kinds[path]
        lines.append(f"    {field}: {PYTHON_TYPES[kind]}{' | None' if nullable else ''}")
    numbers = columns(shape, [path for _, path in row.fields])
    build = f"_{constant.removesuffix('_DECODER').lower()}_rows"
    paths = [specs[i][0] for i in numbers]
    lines += ["", ""]
    lines += rows_source(build, row.name, paths, annotated=True).splitlines()
    lines += ["", "", f"{constant}: RowDecoder[{row.name}] = RowDecoder(", f"    {operation!r},"]
    lines.append(f"    {shape.groups_key!r},")
    lines.append("    (")
    lines.extend(f"        Leaf{spec!r}," for spec in specs)
    lines.append("    ),")
    lines.append(f"    {row.name},")
    lines.append(f"    {numbers!r},")
    lines.append(f"    {build},")
    lines.append(")")
    return "\n".join(lines) + "\n"
