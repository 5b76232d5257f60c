"""What a command fetched (:class:`Report`), and the shape of the coroutine that fetches it."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from turnmeter.client import TurnUsage


@dataclass(slots=True)
class Report:
    """What a command fetched: rows to write, a title, and how to chart them."""

    title: str
    rows: list[dict[str, Any]]
    caption: str | None = None
    chart: tuple[str, str] | None = None  # (label column, value column)
    sparkline: str | None = None  # a value column to draw under the table on a terminal
    columns: tuple[str, ...] = ()  # field names, for a CSV header when there are no rows
    exit_code: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


Fetch = Callable[[argparse.Namespace, TurnUsage, datetime], Awaitable[Report]]
