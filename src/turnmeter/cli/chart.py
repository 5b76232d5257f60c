"""Charts with matplotlib (the ``charts`` extra): bars for rankings, lines for series.

A chart says what it shows: the title carries the range and the filters, the category axis
names what is ranked, bars carry their values, a series draws egress and ingress (and, when
asked, the connections open on a second axis), buckets without traffic are gaps in the lines,
and partial buckets at the ends of the range are shaded.

Points are findable in an SVG: each bar has the gid ``point-<n>``, and a series' egress markers
are the ``<use>`` elements of the group ``points``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from turnmeter.cli.render import format_bytes
from turnmeter.errors import ConfigError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CHART_SUFFIXES = (".png", ".svg")
_FIGURE_SIZE = (10, 5.5)
#: Category labels longer than this are cut (a 32-character key id would crowd the axis).
_LABEL_CHARS = 14
_GAP_COLOUR = "0.9"
_PARTIAL_COLOUR = "#fdebc8"


@dataclass(frozen=True)
class ChartSpec:
    """How to chart a report's rows."""

    label: str  # the column on the category (or time) axis
    values: tuple[str, ...]  # byte columns drawn: one for bars, egress and ingress for a series
    axis: str  # what the category axis shows, e.g. "TURN key id" or "time (UTC)"
    secondary: str | None = None  # a column drawn on a second y axis (connections open)
    secondary_axis: str = ""
    bucket_seconds: int = 0  # a series: the width of one bucket
    gaps: frozenset[Any] = field(default_factory=frozenset)  # labels without traffic
    partial: frozenset[Any] = field(default_factory=frozenset)  # labels the range cuts
    order_by_value: bool = False  # bars: largest first, whatever the rows' order


def check_chart_path(path: str) -> None:
    """Refuse, before any query, a chart file turnmeter cannot write."""
    target = Path(path)
    if target.suffix.lower() not in CHART_SUFFIXES:
        raise ConfigError(f"--chart must end in .png or .svg, got {target.name!r}")
    _pyplot()


def draw_chart(rows: Sequence[Mapping[str, Any]], spec: ChartSpec, *, path: str, title: str) -> int:
    """Draw ``rows`` as ``spec`` says into ``path``; return the number of points drawn."""
    check_chart_path(path)
    plt = _pyplot()
    figure = build_figure(rows, spec, title=title)
    try:
        target = Path(path)
        figure.savefig(target, metadata={"Date": None} if target.suffix == ".svg" else None)
    finally:
        plt.close(figure)
    return sum(1 for row in rows if row[spec.label] not in spec.gaps)


def build_figure(rows: Sequence[Mapping[str, Any]], spec: ChartSpec, *, title: str) -> Figure:
    """The matplotlib figure for ``rows`` (the caller closes it with ``pyplot.close``)."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=_FIGURE_SIZE)
    if rows and isinstance(rows[0][spec.label], datetime | date):
        _series(axes, rows, spec)
    else:
        _bars(axes, rows, spec)
    axes.set_title(title, fontsize=10, wrap=True)
    figure.tight_layout()
    built: Figure = figure
    return built


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("charts need matplotlib: pip install 'turnmeter[charts]'") from None
    return plt


def _bytes_axis(axes: Any, label: str) -> None:
    axes.set_ylabel(label)
    axes.yaxis.set_major_formatter(lambda y, _: format_bytes(int(y)))


def _bars(axes: Any, rows: Sequence[Mapping[str, Any]], spec: ChartSpec) -> None:
    (value,) = spec.values[:1]
    if spec.order_by_value:
        rows = sorted(rows, key=lambda row: row[value] or 0, reverse=True)
    labels = [str(row[spec.label]) for row in rows]
    values = [row[value] or 0 for row in rows]
    short = [t if len(t) <= _LABEL_CHARS else t[: _LABEL_CHARS - 2] + "…" for t in labels]
    bars = axes.bar(range(len(values)), values)
    for index, patch in enumerate(bars):
        patch.set_gid(f"point-{index}")
    texts = [format_bytes(v) if value.endswith("_bytes") else f"{v:,}" for v in values]
    axes.bar_label(bars, labels=texts, fontsize=8, padding=2)
    axes.set_xticks(range(len(values)), short, rotation=45, ha="right")
    axes.set_xlabel(spec.axis)
    if value.endswith("_bytes"):
        _bytes_axis(axes, value.removesuffix("_bytes").replace("_", " "))
    else:
        axes.set_ylabel(value.replace("_", " "))
    axes.margins(y=0.12)  # room for the value over the tallest bar


def _moment(label: datetime | date) -> datetime:
    if isinstance(label, datetime):
        return label.astimezone(UTC)
    return datetime(label.year, label.month, label.day, tzinfo=UTC)


def _series(axes: Any, rows: Sequence[Mapping[str, Any]], spec: ChartSpec) -> None:
    import matplotlib.dates as mdates

    times = [_moment(row[spec.label]) for row in rows]
    width = timedelta(seconds=spec.bucket_seconds or 60)
    for legend, colour, labels in (
        ("no traffic", _GAP_COLOUR, spec.gaps),
        ("partial bucket", _PARTIAL_COLOUR, spec.partial),
    ):
        for number, (begin, end) in enumerate(_spans(labels, width)):
            # only the first span of a kind goes in the legend
            axes.axvspan(begin, end, color=colour, zorder=0, label=legend if number == 0 else None)
    for name in spec.values:
        # an empty bucket is a gap in the line (NaN), never a ramp across it
        ys = [float("nan") if row[spec.label] in spec.gaps else row[name] for row in rows]
        # small markers too: a bucket between two gaps is a point, not a line
        (line,) = axes.plot(
            times, ys, linewidth=1.2, marker=".", markersize=3, label=name.removesuffix("_bytes")
        )
        if name == spec.values[0]:
            drawn = [(t, y) for t, y in zip(times, ys, strict=True) if y == y]
            markers = axes.scatter([t for t, _ in drawn], [y for _, y in drawn], s=6)
            markers.set_color(line.get_color())
            markers.set_gid("points")
    if spec.values[0].endswith("_bytes"):
        _bytes_axis(axes, "bytes per bucket")
    else:
        axes.set_ylabel(spec.values[0].replace("_", " "))
    axes.set_ylim(bottom=0)
    # Concise ticks read at every width: "13:05" within a day, "Dec 01" across days, with the
    # date or month once at the axis' end; minute ticks never read "12-01 13".
    locator = mdates.AutoDateLocator(tz=UTC, minticks=4, maxticks=10)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    formatter = mdates.ConciseDateFormatter(locator, tz=UTC)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_formatter(formatter)
    axes.set_xlabel(spec.axis)
    handles, labels = axes.get_legend_handles_labels()
    if spec.secondary:
        other = axes.twinx()
        ys = [float("nan") if row[spec.label] in spec.gaps else row[spec.secondary] for row in rows]
        other.plot(times, ys, linewidth=1, linestyle="--", color="0.35", label=spec.secondary_axis)
        other.set_ylabel(spec.secondary_axis)
        other.set_ylim(bottom=0)
        more_handles, more_labels = other.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    axes.legend(handles, labels, loc="upper left", fontsize=8)


def _spans(labels: Iterable[Any], width: timedelta) -> list[tuple[datetime, datetime]]:
    """Runs of adjacent buckets as (start, end) spans, one per run."""
    runs: list[list[datetime]] = []
    for start in sorted(_moment(label) for label in labels):
        if runs and runs[-1][1] == start:
            runs[-1][1] = start + width
        else:
            runs.append([start, start + width])
    return [(begin, end) for begin, end in runs]
