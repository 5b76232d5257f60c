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


def needs_python_check(scalar: str) -> bool:
    """Leaves msgspec cannot check as strictly as turnmeter's own: times, dates, big bounds.

    msgspec's RFC 3339 parser also takes ``t``/``z``/space separators, ``+0100`` and more than
    six fractional digits, and its integer bounds stop at int64.
    """
    bounds = INT_RANGES.get(scalar)
    if bounds is not None:
        return bounds[0] < -(2**63) or bounds[1] > 2**63 - 1
    return scalar in TIME_SCALARS
