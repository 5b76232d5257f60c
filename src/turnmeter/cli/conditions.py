"""Filters typed on the command line, as DSL conditions.

``--key K`` style flags become equalities (or ``in`` lists); ``--filter "FIELD OP VALUE"`` reaches
every operator the schema has: ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``in``, ``notin``,
``like``, ``notlike`` (``in`` lists are comma-separated).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from turnmeter.errors import ConfigError
from turnmeter.query import F
from turnmeter.query.catalog import FILTER_KEYWORDS
from turnmeter.query.conditions import Condition
from turnmeter.query.datasets import SFU, TURN, Dataset, SfuF
from turnmeter.query.timerange import parse_moment

_EXPRESSION = re.compile(
    r"^\s*(\w+)\s*(!=|<=|>=|=|<|>|\bnotin\b|\bin\b|\bnotlike\b|\blike\b)\s*(.*?)\s*$"
)


def condition_for(
    flags: Mapping[str, Sequence[str]],
    expressions: Sequence[str],
    now: datetime,
    dataset: Dataset = TURN,
) -> Condition | None:
    """All flag filters and ``--filter`` expressions, ANDed; None when there are none.

    The flags (``--key``, ``--customer``, ...) are TURN dimensions; an SFU query takes
    ``--filter`` expressions on its own dimensions (``'track_type = video'``).
    """
    if flags and dataset is not TURN:
        raise ConfigError(
            "--key, --user, --customer, --datacenter, --country and --region filter TURN's "
            f"dimensions, which the {dataset.label} dataset does not have; filter it with "
            "--filter 'FIELD OP VALUE', e.g. --filter 'track_type = video'"
        )
    parts: list[Condition] = []
    for argument, values in flags.items():
        field = getattr(F, FILTER_KEYWORDS[argument].name)
        unique = list(dict.fromkeys(values))
        parts.append(field == unique[0] if len(unique) == 1 else field.in_(unique))
    parts.extend(parse_expression(text, now, dataset) for text in expressions)
    if not parts:
        return None
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part
    return combined


def parse_expression(text: str, now: datetime, dataset: Dataset = TURN) -> Condition:
    """``"username like bot-%"`` -> ``F.username.like("bot-%")``."""
    if len(text.strip().splitlines()) > 1:
        # Without this, "must read FIELD OP VALUE" would blame a well-formed expression.
        raise ConfigError(
            f"--filter {text!r} holds a line break: write one FIELD OP VALUE per --filter "
            "(a value with a line break goes through --key, --user or --customer)"
        )
    match = _EXPRESSION.match(text)
    if not match:
        raise ConfigError(
            f"--filter {text!r} must read FIELD OP VALUE, e.g. 'username like bot-%' or "
            "'datacenter_country in DE,FR'"
        )
    name, op, raw = match.group(1), match.group(2), match.group(3)
    field = getattr(SfuF if dataset is SFU else F, name, None)
    if field is None or name.startswith("_"):
        known = ", ".join(spec.name for spec in dataset.dimensions)
        raise ConfigError(f"--filter: unknown dimension {name!r}; dimensions are: {known}")
    if op in ("in", "notin"):
        values = [_value(name, item.strip(), now) for item in raw.split(",") if item.strip()]
        chosen: Condition = field.in_(values) if op == "in" else field.notin(values)
        return chosen
    value = _value(name, raw, now)
    if op in ("like", "notlike"):
        if not hasattr(field, "like"):
            raise ConfigError(f"--filter: {op} works on text dimensions only, not {name}")
        return field.like(value) if op == "like" else field.notlike(value)  # type: ignore[no-any-return]
    return _compare(field, op, value)


def _compare(field: Any, op: str, value: Any) -> Condition:
    comparisons = {
        "=": field.eq,
        "!=": field.neq,
        "<": field.__lt__,
        "<=": field.__le__,
        ">": field.__gt__,
        ">=": field.__ge__,
    }
    return comparisons[op](value)  # type: ignore[no-any-return]


def _value(name: str, raw: str, now: datetime) -> Any:
    if not raw:
        raise ConfigError(f"--filter on {name} has no value")
    if name == "date":
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise ConfigError(f"--filter: {raw!r} is not a date (YYYY-MM-DD)") from None
    if name in ("minute", "five_minutes", "fifteen_minutes", "hour"):
        return parse_moment(raw, now, name=f"--filter {name}")
    return raw
