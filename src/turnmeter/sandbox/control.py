"""The control API's input: a fault script, read strictly.

``POST /__sandbox/faults`` takes one fault object, or ``{"faults": [...], "latency": s}``. A bad
field is refused as a whole (nothing of the request is applied) with a message naming it,
because a silently defaulted typo, or a NaN latency that hangs every later request, is worse
for the test that sent it than an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from turnmeter.sandbox import guards
from turnmeter.sandbox.faults import Fault, check_seconds
from turnmeter.sandbox.refusals import Refusal

_SCRIPT_FIELDS = ("faults", "latency")


@dataclass(frozen=True)
class Script:
    """What one control request asks for: faults to queue and, maybe, a new latency."""

    faults: tuple[Fault, ...]
    latency: float | None = None


def read_script(raw: bytes) -> Script:
    """The script in a control request body; ValueError naming the first bad field."""
    try:
        data: Any = guards.read_json(raw) if raw.strip() else {}
    except Refusal as refusal:
        # the generic "query contains error" wording means nothing here: say what is wrong
        detail = refusal.message if refusal.code else "it is not valid JSON"
        raise ValueError(f'"body" must be a JSON object: {detail}') from None
    if not isinstance(data, dict):
        raise ValueError(f'"body" must be a JSON object, not {json.dumps(data)[:80]}')
    if not any(name in data for name in _SCRIPT_FIELDS):
        return Script((Fault.from_json(data),))  # a single fault object
    unknown = sorted(set(data) - set(_SCRIPT_FIELDS))
    if unknown:
        raise ValueError(f'"{unknown[0]}" is not a control field; expected "faults", "latency"')
    items = data.get("faults", [])
    if not isinstance(items, list):
        raise ValueError('"faults" must be a list of fault objects')
    faults = tuple(Fault.from_json(item) for item in items)
    latency = check_seconds("latency", data["latency"]) if "latency" in data else None
    return Script(faults, latency)
