"""Charts with matplotlib (the ``charts`` extra): bars for rankings, a line for series.

Points are findable in an SVG: each bar has the gid ``point-<n>``, and a series' markers are
the ``<use>`` elements of the group ``points``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from turnmeter.cli.render import format_bytes
from turnmeter.errors import ConfigError

CHART_SUFFIXES = (".png", ".svg")
_FIGURE_SIZE = (10, 5)


def draw_chart(
    rows: Sequence[Mapping[str, Any]], label: str, value: str, *, path: str, title: str
) -> int:
    """Draw ``value`` against ``label`` into ``path``; return the number of points drawn."""
    target = Path(path)
    if target.suffix.lower() not in CHART_SUFFIXES:
        raise ConfigError(f"--chart must end in .png or .svg, got {target.name!r}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("charts need matplotlib: pip install 'turnmeter[charts]'") from None
    labels = [row[label] for row in rows]
    values = [row[value] for row in rows]
    figure, axes = plt.subplots(figsize=_FIGURE_SIZE)
    try:
        if labels and isinstance(labels[0], datetime):
            _line(axes, labels, values)
        else:
            _bars(axes, [str(item) for item in labels], values)
        axes.set_title(title)
        axes.set_ylabel(value.replace("_", " "))
        axes.yaxis.set_major_formatter(lambda y, _: format_bytes(int(y)))
        figure.tight_layout()
        figure.savefig(target, metadata={"Date": None} if target.suffix == ".svg" else None)
    finally:
        plt.close(figure)
    return len(values)


def _line(axes: Any, times: list[datetime], values: list[int]) -> None:
    axes.plot(times, values, linewidth=1)
    # One collection for all markers: in SVG each is a <use> inside <g id="points">.
    axes.scatter(times, values, s=4).set_gid("points")
    axes.set_xlabel("time (UTC)")
    axes.figure.autofmt_xdate()


def _bars(axes: Any, labels: list[str], values: list[int]) -> None:
    short = [text if len(text) <= 14 else text[:12] + "…" for text in labels]
    bars = axes.bar(range(len(values)), values)
    for index, patch in enumerate(bars):
        patch.set_gid(f"point-{index}")
    axes.set_xticks(range(len(values)), short, rotation=45, ha="right")
