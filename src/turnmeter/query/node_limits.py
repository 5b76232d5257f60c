"""Reading the TURN node's limits: every value checked, nothing escapes as OverflowError.

``settings.callsTurnUsageAdaptiveGroups`` answers ``int64`` values, and a type-valid answer can
still be impossible. Two rules:

* **Clamped**: a ``maxDuration`` or ``notOlderThan`` wider than :data:`UNBOUNDED` (Python's
  ``timedelta.max``, about 2.7 million years) becomes :data:`UNBOUNDED`. No datetime lies
  farther apart than that, so such a limit bounds nothing and "unbounded" is its exact meaning;
  refusing it would make an account whose server says "no limit" with a huge number unusable.
* **Refused** (:class:`MalformedResponse`, naming the limit and the value): what no account can
  have and no query can work with: ``maxPageSize`` or ``maxNumberOfFields`` below 1, a
  ``maxDuration`` below one second, a negative ``notOlderThan``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from turnmeter.errors import MalformedResponse
from turnmeter.rows import DatasetLimits

#: The widest duration turnmeter represents; wider limits from the server mean "no limit".
UNBOUNDED = timedelta.max
_UNBOUNDED_SECONDS = UNBOUNDED.total_seconds()


def dataset_limits(node: Any) -> DatasetLimits:
    """``DatasetLimits`` from the generated settings model, checked and clamped."""
    return DatasetLimits(
        enabled=node.enabled,
        available_fields=tuple(node.available_fields),
        max_duration=_duration("maxDuration", node.max_duration, minimum=1),
        max_number_of_fields=_count("maxNumberOfFields", node.max_number_of_fields),
        max_page_size=_count("maxPageSize", node.max_page_size),
        not_older_than=_duration("notOlderThan", node.not_older_than, minimum=0),
    )


def _duration(name: str, seconds: int, *, minimum: int) -> timedelta:
    if seconds < minimum:
        raise MalformedResponse(
            f"the node limit {name} is out of range: {seconds} s (at least {minimum} s expected)"
        )
    if seconds >= _UNBOUNDED_SECONDS:
        return UNBOUNDED
    return timedelta(seconds=seconds)


def _count(name: str, value: int) -> int:
    if value < 1:
        raise MalformedResponse(
            f"the node limit {name} is out of range: {value} (at least 1 expected)"
        )
    return value
