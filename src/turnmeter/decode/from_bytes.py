"""msgspec types for one fast-path shape: the response envelope, decoded straight from bytes.

:mod:`turnmeter.decode.compiled` compiles a row builder per shape over parsed JSON. Parsing with
orjson builds a dict per object only for the decoder to read and drop it; msgspec instead decodes
the body into small ``Struct`` objects in C, checking every JSON type on the way (strict ints,
bounds, strings, floats, bools, non-null objects), and ignores fields nobody selected, as the
dict walk does. The decoder then only flattens Structs into rows.

msgspec is a fast *accepting* path, never a judge: any body it refuses (and any body with
``errors``) is handed to the orjson path, which classifies it and names the exact path of a bad
value. For that to change nothing, msgspec must accept a subset of what the dict walk accepts,
with the same values. Where its rules are looser (RFC 3339 times, integer bounds past int64),
the leaf is decoded as a plain value and the dict walk's own check runs on it
(:func:`turnmeter.decode.scalars.needs_python_check`).
"""

from __future__ import annotations

import keyword
from collections.abc import Sequence
from typing import Annotated, Any

import msgspec

from turnmeter.decode.scalars import (
    BOOL_SCALARS,
    FLOAT_SCALARS,
    INT_RANGES,
    TEXT_SCALARS,
    needs_python_check,
)
from turnmeter.decode.shapes import Leaf, Shape


def envelope_decoder(shape: Shape) -> msgspec.json.Decoder[Any] | None:
    """A decoder of ``{"data": {"viewer": {"accounts": [{<groups>: [...]}]}}, "errors": ...}``.

    ``None`` when a response key is not a plain Python name (the dict walk then does it all).
    """
    keys = [shape.groups_key, *(key for leaf in shape.leaves for key in leaf.path)]
    if not all(_plain(key) for key in keys):
        return None
    group = _struct("Group", shape.leaves, 0)
    account = _defstruct("Account", [(shape.groups_key, list[group])])  # type: ignore[valid-type]
    viewer = _defstruct("Viewer", [("accounts", list[account])])  # type: ignore[valid-type]
    data = _defstruct("Data", [("viewer", viewer)])
    # errors: any JSON; a present, non-empty list sends the body to the classifying path.
    envelope = _defstruct("Envelope", [("data", data), ("errors", object, None)])
    return msgspec.json.Decoder(envelope)


def _plain(key: str) -> bool:
    return key.isidentifier() and not keyword.iskeyword(key) and not key.startswith("_")


def _defstruct(name: str, fields: Sequence[tuple[Any, ...]]) -> type[msgspec.Struct]:
    # gc=False: these objects hold no cycles and die right after the rows are built; untracked
    # objects cost the cyclic GC nothing.
    return msgspec.defstruct(name, list(fields), gc=False)


def _struct(name: str, leaves: Sequence[Leaf], depth: int) -> type[msgspec.Struct]:
    children: dict[str, list[Leaf]] = {}
    for leaf in leaves:
        children.setdefault(leaf.path[depth], []).append(leaf)
    fields: list[tuple[str, Any]] = []
    for key, under in children.items():
        if len(under) == 1 and len(under[0].path) == depth + 1:
            fields.append((key, _leaf_type(under[0])))
        else:
            # Objects between the group and its leaves are never null (the dict walk's rule).
            fields.append((key, _struct(key.capitalize(), under, depth + 1)))
    return _defstruct(name, fields)


def _leaf_type(leaf: Leaf) -> Any:
    kind: Any
    if needs_python_check(leaf.scalar):
        # Decoded as JSON gives it; the compiled decoder checks and converts it.
        kind = int if leaf.scalar in INT_RANGES else str
    elif leaf.scalar in INT_RANGES:
        low, high = INT_RANGES[leaf.scalar]
        kind = Annotated[int, msgspec.Meta(ge=low, le=high)]
    elif leaf.scalar in TEXT_SCALARS:
        kind = str
    elif leaf.scalar in FLOAT_SCALARS:
        kind = float  # msgspec takes JSON ints too, as float(value), like the dict walk
    elif leaf.scalar in BOOL_SCALARS:
        kind = bool
    else:  # _leaves already refused unknown scalars; keep this total anyway
        raise ValueError(f"no msgspec type for the scalar {leaf.scalar!r}")
    return kind | None if leaf.nullable else kind
