"""What a command fetched (:class:`Report`), and the shape of the coroutine that fetches it."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from turnmeter.client import TurnUsage

if TYPE_CHECKING:
    from turnmeter.cli.chart import ChartSpec


@dataclass(slots=True)
class Report:
    """What a command fetched: rows to write, a title, and how to chart them."""

    title: str
    rows: list[dict[str, Any]]
    caption: str | None = None
    chart: ChartSpec | None = None  # how to chart the rows (None: this report cannot chart)
    chart_rows: list[dict[str, Any]] | None = None  # rows to chart, if not ``rows``
    sparkline: str | None = None  # a value column to draw under the table on a terminal
    columns: tuple[str, ...] = ()  # field names, for a CSV header when there are no rows
    exit_code: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


Fetch = Callable[[argparse.Namespace, TurnUsage, datetime], Awaitable[Report]]
