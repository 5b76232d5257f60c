"""A progress bar on stderr for multi-window pulls, only when stderr is a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from turnmeter.query.runner import ProgressCallback


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
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns: list[Any] = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("windows, {task.fields[rows]:,} rows"),
    ]
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=None, rows=0)

        def update(done: int, total: int, rows: int) -> None:
            bar.update(task, completed=done, total=total, rows=rows)

        yield update
