"""A progress bar on stderr for multi-window pulls, only when stderr is a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from turnmeter.query.runner import ProgressCallback

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


@contextmanager
def progress_bar(
    description: str, *, enabled: bool | None = None
) -> Iterator[ProgressCallback | None]:
    """A ``(windows_done, windows_total, rows)`` callback drawing a bar, or None off a terminal."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield None
        return
    with windows_bar(description, "windows, {task.fields[rows]:,} rows", rows=0) as (bar, task):

        def update(done: int, total: int, rows: int) -> None:
            bar.update(task, completed=done, total=total, rows=rows)

        yield update


@contextmanager
def windows_bar(description: str, counts: str, **fields: Any) -> Iterator[tuple[Progress, TaskID]]:
    """A transient bar on stderr: ``description``, the bar, windows done of total, then
    ``counts`` (a rich format over ``task.fields``, which start as ``fields``)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns: list[Any] = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(counts),
    ]
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        yield bar, bar.add_task(description, total=None, **fields)
