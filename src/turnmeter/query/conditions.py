"""Filter conditions: ``F.key_id.in_([...]) & (F.username.like("bot-%") | ~(F.hour < t))``.

``F`` has one typed attribute per dimension. Comparing one (``==``, ``!=``, ``<``, ``<=``, ``>``,
``>=``) or calling an operator method (``in_``, ``notin``, ``like``, ``notlike``; the ``like``
forms exist only on string dimensions, as in the schema) gives a :class:`Condition`. Conditions
combine with ``&`` (AND), ``|`` (OR) and ``~`` (NOT, pushed down by De Morgan since the schema
has no negation node). A condition compiles to the filter object's keys (``keyId_in``, ``OR``);
values stay Python values until the generated input model validates and dumps them, so nothing
is ever interpolated into query text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar

from turnmeter.errors import QueryError
from turnmeter.query.catalog import BY_FRIENDLY, FieldSpec

V = TypeVar("V")

#: Operator -> its negation (the schema offers both sides of every operator).
NEGATION = {
    "eq": "neq",
    "neq": "eq",
    "gt": "leq",
    "leq": "gt",
    "geq": "lt",
    "lt": "geq",
    "in": "notin",
    "notin": "in",
    "like": "notlike",
    "notlike": "like",
}
LIST_OPERATORS = frozenset({"in", "notin"})
STRING_ONLY_OPERATORS = frozenset({"like", "notlike"})


class Condition:
    """A filter condition; combine with ``&``, ``|`` and ``~``."""

    __slots__ = ()

    def __and__(self, other: Condition) -> Condition:
        return AllOf(_flatten(AllOf, (self, _condition(other))))

    def __or__(self, other: Condition) -> Condition:
        return AnyOf(_flatten(AnyOf, (self, _condition(other))))

    def __invert__(self) -> Condition:
        raise NotImplementedError

    def to_filter(self) -> dict[str, Any]:
        """The filter object's keys for this condition (schema names, Python values)."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Comparison(Condition):
    """``field <op> value`` on one dimension."""

    field: FieldSpec
    op: str
    value: Any

    def __invert__(self) -> Condition:
        return Comparison(self.field, NEGATION[self.op], self.value)

    def to_filter(self) -> dict[str, Any]:
        suffix = "" if self.op == "eq" else f"_{self.op}"
        value = list(self.value) if self.op in LIST_OPERATORS else self.value
        return {f"{self.field.schema}{suffix}": value}


@dataclass(frozen=True, slots=True)
class AllOf(Condition):
    """Every item holds (the filter's ``AND``)."""

    items: tuple[Condition, ...]

    def __invert__(self) -> Condition:
        return AnyOf(tuple(~item for item in self.items))

    def to_filter(self) -> dict[str, Any]:
        return {"AND": [item.to_filter() for item in self.items]}


@dataclass(frozen=True, slots=True)
class AnyOf(Condition):
    """At least one item holds (the filter's ``OR``)."""

    items: tuple[Condition, ...]

    def __invert__(self) -> Condition:
        return AllOf(tuple(~item for item in self.items))

    def to_filter(self) -> dict[str, Any]:
        return {"OR": [item.to_filter() for item in self.items]}


def _condition(value: object) -> Condition:
    if not isinstance(value, Condition):
        raise QueryError(f"& and | combine conditions, got {type(value).__name__}")
    return value


def _flatten(kind: type[AllOf | AnyOf], items: Iterable[Condition]) -> tuple[Condition, ...]:
    # a & b & c is one AND of three, not AND(AND(a, b), c): a flatter, shorter filter.
    flat: list[Condition] = []
    for item in items:
        flat.extend(item.items if isinstance(item, kind) else (item,))
    return tuple(flat)


class _Field(Generic[V]):
    """Operators on one dimension; subclasses fix the value type."""

    __slots__ = ("spec",)
    # Comparison operators build conditions, so instances are not hashable.
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, spec: FieldSpec) -> None:
        self.spec = spec

    def __repr__(self) -> str:
        return f"F.{self.spec.name}"

    def _check(self, value: Any) -> V:
        raise NotImplementedError

    def _compare(self, op: str, value: Any) -> Comparison:
        if op in LIST_OPERATORS:
            if isinstance(value, str | bytes) or not isinstance(value, Iterable):
                raise QueryError(f"{self!r}.{op} takes a list of values, got {value!r}")
            values = tuple(dict.fromkeys(self._check(item) for item in value))
            if not values:
                raise QueryError(f"{self!r}.{op} was given no values")
            return Comparison(self.spec, op, values)
        return Comparison(self.spec, op, self._check(value))

    def __eq__(self, value: V) -> Comparison:  # type: ignore[override]
        return self._compare("eq", value)

    def __ne__(self, value: V) -> Comparison:  # type: ignore[override]
        return self._compare("neq", value)

    def __lt__(self, value: V) -> Comparison:
        return self._compare("lt", value)

    def __le__(self, value: V) -> Comparison:
        return self._compare("leq", value)

    def __gt__(self, value: V) -> Comparison:
        return self._compare("gt", value)

    def __ge__(self, value: V) -> Comparison:
        return self._compare("geq", value)

    def eq(self, value: V) -> Comparison:
        """Equal to ``value``."""
        return self._compare("eq", value)

    def neq(self, value: V) -> Comparison:
        """Not equal to ``value``."""
        return self._compare("neq", value)

    def in_(self, values: Iterable[V]) -> Comparison:
        """One of ``values``."""
        return self._compare("in", values)

    def notin(self, values: Iterable[V]) -> Comparison:
        """None of ``values``."""
        return self._compare("notin", values)


class StringField(_Field[str]):
    """A string dimension: comparisons (byte order), ``in_``, ``notin``, ``like``, ``notlike``."""

    __slots__ = ()

    def _check(self, value: Any) -> str:
        if not isinstance(value, str):
            raise QueryError(f"{self!r} compares with strings, got {value!r}")
        return value

    def like(self, pattern: str) -> Comparison:
        """Matches the SQL LIKE ``pattern`` (``%`` any run, ``_`` one character; case-sensitive)."""
        return self._compare("like", pattern)

    def notlike(self, pattern: str) -> Comparison:
        """Does not match the SQL LIKE ``pattern``."""
        return self._compare("notlike", pattern)


class TimeField(_Field[datetime]):
    """A ``datetime*`` dimension: compares the bucket start with timezone-aware datetimes."""

    __slots__ = ()

    def _check(self, value: Any) -> datetime:
        if not isinstance(value, datetime) or value.utcoffset() is None:
            raise QueryError(f"{self!r} compares with timezone-aware datetimes, got {value!r}")
        return value.astimezone(UTC)


class DateField(_Field[date]):
    """The ``date`` dimension (UTC days): compares with :class:`datetime.date`."""

    __slots__ = ()

    def _check(self, value: Any) -> date:
        if isinstance(value, datetime) or not isinstance(value, date):
            raise QueryError(f"{self!r} compares with dates, got {value!r}")
        return value


class F:
    """The dimensions to filter on: ``F.key_id == "..."``, ``F.hour >= since``."""

    key_id = StringField(BY_FRIENDLY["key_id"])
    username = StringField(BY_FRIENDLY["username"])
    custom_identifier = StringField(BY_FRIENDLY["custom_identifier"])
    datacenter_city = StringField(BY_FRIENDLY["datacenter_city"])
    datacenter_code = StringField(BY_FRIENDLY["datacenter_code"])
    datacenter_country = StringField(BY_FRIENDLY["datacenter_country"])
    datacenter_region = StringField(BY_FRIENDLY["datacenter_region"])
    date = DateField(BY_FRIENDLY["date"])
    minute = TimeField(BY_FRIENDLY["minute"])
    five_minutes = TimeField(BY_FRIENDLY["five_minutes"])
    fifteen_minutes = TimeField(BY_FRIENDLY["fifteen_minutes"])
    hour = TimeField(BY_FRIENDLY["hour"])
