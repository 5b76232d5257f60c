"""Cloudflare's scalars for graphql-core: ``Time``, ``Date``, ``string``, ``bool``, ints, floats.

Cloudflare declares its own lowercase scalars and never uses ``String``/``Int``; graphql-core's
default scalar functions accept anything, so each gets a strict serializer and parser here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from graphql import (
    BooleanValueNode,
    FloatValueNode,
    GraphQLError,
    GraphQLScalarType,
    GraphQLSchema,
    IntValueNode,
    StringValueNode,
    ValueNode,
)

from turnmeter.decode.scalars import INT_RANGES

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
# RFC 3339 date-time: a 'T' (or space) separator and an explicit offset are required.
_TIME_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})",
)


def parse_time(value: Any) -> datetime:
    """An RFC 3339 string (``2024-07-15T02:07:07Z``) as an aware UTC datetime."""
    if not isinstance(value, str) or not _TIME_RE.fullmatch(value):
        raise GraphQLError(
            f"invalid Time {value!r}: expected RFC 3339 like 2024-07-15T02:07:07Z",
        )
    text = value.upper().replace(" ", "T")
    if "." in text:  # fromisoformat in 3.11 takes at most 6 fraction digits
        head, rest = text.split(".", 1)
        digits = re.match(r"\d+", rest)
        assert digits is not None  # the regex above guarantees digits after the dot
        text = f"{head}.{digits.group()[:6].ljust(6, '0')}{rest[digits.end() :]}"
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError as exc:
        raise GraphQLError(f"invalid Time {value!r}: {exc}") from exc


def serialize_time(value: Any) -> str:
    """A datetime (naive means UTC) or an RFC 3339 string, as ``YYYY-MM-DDTHH:MM:SSZ``."""
    if isinstance(value, str):
        value = parse_time(value)
    if not isinstance(value, datetime):
        raise GraphQLError(f"Time cannot represent {value!r}")
    moment: datetime = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def parse_date(value: Any) -> date:
    """A ``YYYY-MM-DD`` string as a date."""
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
        raise GraphQLError(f"invalid Date {value!r}: expected YYYY-MM-DD like 2024-07-15")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise GraphQLError(f"invalid Date {value!r}: {exc}") from exc


def serialize_date(value: Any) -> str:
    """A date (or the date of a datetime) as ``YYYY-MM-DD``."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC).date()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return parse_date(value).isoformat()
    raise GraphQLError(f"Date cannot represent {value!r}")


def _int_parser(name: str) -> Callable[[Any], int]:
    low, high = INT_RANGES[name]

    def parse(value: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise GraphQLError(f"{name} cannot represent non-integer value {value!r}")
        number: int = value
        if not low <= number <= high:
            raise GraphQLError(f"{name} cannot represent {number}: out of range")
        return number

    return parse


def _parse_string(value: Any) -> str:
    if not isinstance(value, str):
        raise GraphQLError(f"string cannot represent non-string value {value!r}")
    return value


def _parse_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise GraphQLError(f"bool cannot represent non-boolean value {value!r}")
    return value


def _parse_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise GraphQLError(f"float cannot represent non-numeric value {value!r}")
    return float(value)


def _literal_reader(parse: Callable[[Any], Any]) -> Callable[..., Any]:
    """parse_literal for a scalar: take the literal's Python value, then apply ``parse``."""

    def parse_literal(node: ValueNode, _variables: Any = None) -> Any:
        if isinstance(node, StringValueNode):
            return parse(node.value)
        if isinstance(node, IntValueNode):
            return parse(int(node.value))
        if isinstance(node, FloatValueNode):
            return parse(float(node.value))
        if isinstance(node, BooleanValueNode):
            return parse(node.value)
        raise GraphQLError(f"unexpected literal of kind {node.kind}")

    return parse_literal


def _functions_for(name: str) -> tuple[Callable[[Any], Any], Callable[[Any], Any]] | None:
    """(serialize, parse_value) for one of Cloudflare's scalar names."""
    if name == "Time":
        return serialize_time, parse_time
    if name == "Date":
        return serialize_date, parse_date
    if name in INT_RANGES:
        parser = _int_parser(name)
        return parser, parser
    if name in ("string", "bytes"):
        return _parse_string, _parse_string
    if name == "bool":
        return _parse_bool, _parse_bool
    if name in ("float32", "float64"):
        return _parse_float, _parse_float
    return None


def install_scalars(schema: GraphQLSchema) -> None:
    """Give every Cloudflare scalar in ``schema`` strict serialize/parse functions, in place."""
    for name, gql_type in schema.type_map.items():
        if not isinstance(gql_type, GraphQLScalarType):
            continue
        functions = _functions_for(name)
        if functions is None:
            continue
        serialize, parse_value = functions
        gql_type.serialize = serialize  # type: ignore[method-assign,assignment]
        gql_type.parse_value = parse_value  # type: ignore[method-assign,assignment]
        gql_type.parse_literal = _literal_reader(parse_value)  # type: ignore[method-assign]
