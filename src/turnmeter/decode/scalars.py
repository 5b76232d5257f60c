"""Cloudflare's scalar types, as facts: which JSON values each one admits.

The Analytics schema never uses GraphQL's built-in ``Int``/``String``; it declares its own
(``uint64``, ``string``, ``Time``, ...). The decoders, the transport's type check and the sandbox
all read these tables, so the three agree on what a valid value is.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Integer scalar -> inclusive (low, high).
INT_RANGES: Mapping[str, tuple[int, int]] = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint8": (0, 2**8 - 1),
    "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
}
#: Scalars sent as JSON strings that need no further parsing.
TEXT_SCALARS = frozenset({"string", "bytes", "String", "ID"})
#: Scalars sent as JSON strings holding a time (``Time``) or a date (``Date``).
TIME_SCALARS = frozenset({"Time", "Date"})
FLOAT_SCALARS = frozenset({"float32", "float64", "Float"})
BOOL_SCALARS = frozenset({"bool", "Boolean"})


#: Every scalar the decoders can check.
DECODABLE_SCALARS = (
    frozenset(INT_RANGES) | TEXT_SCALARS | TIME_SCALARS | FLOAT_SCALARS | BOOL_SCALARS
)


def scalar_kind(scalar: str) -> tuple[str, tuple[int, int] | None]:
    """The decoders' check for ``scalar``: its kind and, for integers, the inclusive bounds."""
    bounds = INT_RANGES.get(scalar)
    if bounds is not None:
        return "int", bounds
    for kind, names in (
        ("text", TEXT_SCALARS),
        ("float", FLOAT_SCALARS),
        ("bool", BOOL_SCALARS),
        ("time", frozenset({"Time"})),
        ("date", frozenset({"Date"})),
    ):
        if scalar in names:
            return kind, None
    raise ValueError(f"no decoder check for the scalar {scalar!r}")
