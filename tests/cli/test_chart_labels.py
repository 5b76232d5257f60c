"""Charts say what they show: labels read back from the matplotlib figure (never from pixels).

Each test builds the figure from the report the command fetched (the same ``build_figure`` the
``--chart`` file is drawn from) and also writes the PNG through ``main``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pytest

from tests.usage_data import NOW, START, usage_rows
from turnmeter.cli import build_parser, main
from turnmeter.cli.chart import build_figure
from turnmeter.cli.render import format_bytes
from turnmeter.cli.runner import fetch_report

RANGE = ["--since", START.isoformat(), "--until", NOW.isoformat(), "--now", NOW.isoformat()]
ROWS = [r for r in usage_rows() if START <= r.minute < NOW]
PNG = b"\x89PNG\r\n\x1a\n"
#: Readable time ticks: "02:00", "Aug-08", "2024", "Aug", "02:05" -- never "08-08 02".
TICK = re.compile(r"^(\d{2}:\d{2}|[A-Z][a-z]{2}-\d{2}|\d{4}|[A-Z][a-z]{2}|\d{2})$")


@pytest.fixture
def figure_of(cli_env: str) -> Iterator[Any]:
    made: list[Any] = []

    def build(argv: list[str]) -> Any:
        args = build_parser().parse_args([*argv, "--sandbox"])
        report = fetch_report(args, args.handler.fetch())
        assert report.chart is not None
        rows = report.rows if report.chart_rows is None else report.chart_rows
        figure = build_figure(rows, report.chart, title=report.title)
        figure.canvas.draw()  # tick labels are computed at draw time
        made.append(figure)
        return figure

    yield build
    for figure in made:
        plt.close(figure)


def write_png(argv: list[str], path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--sandbox", "--chart", str(path)]) == 0, capsys.readouterr().err
    assert path.read_bytes()[:8] == PNG


def egress_by(attribute: str) -> Counter[str]:
    totals: Counter[str] = Counter()
    for row in ROWS:
        totals[getattr(row, attribute)] += row.egress_bytes
    return totals


def test_top_keys_chart(figure_of: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["top-keys", *RANGE, "--limit", "2", "--customer", "tango"]
    write_png(argv, tmp_path / "keys.png", capsys)
    (axes,) = figure_of(argv).axes
    assert axes.get_xlabel() == "TURN key id"
    assert axes.get_ylabel() == "egress"
    title = axes.get_title()
    assert title.startswith("Top 2 TURN keys by egress (customer tango), ")
    assert "UTC" in title
    expected = Counter()
    for row in ROWS:
        if row.custom_identifier == "tango":
            expected[row.key_id] += row.egress_bytes
    top = expected.most_common(2)
    ticks = [t.get_text() for t in axes.get_xticklabels()]
    assert ticks == [key if len(key) <= 14 else key[:12] + "…" for key, _ in top]
    assert [t.get_text() for t in axes.texts] == [format_bytes(v) for _, v in top]


def test_top_customers_and_users_say_what_is_ranked(figure_of: Any) -> None:
    (customers,) = figure_of(["top-customers", *RANGE]).axes
    assert customers.get_xlabel() == "custom identifier"
    assert customers.get_title().startswith("Top 4 custom identifiers by egress, ")
    (users,) = figure_of(["top-users", *RANGE, "--limit", "3"]).axes
    assert users.get_xlabel() == "TURN username"
    assert users.get_title().startswith("Top 3 TURN usernames by egress, ")


def test_series_chart(figure_of: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["series", *RANGE, "--every", "hour", "--chart-connections", "--skip-empty"]
    write_png(argv, tmp_path / "series.png", capsys)
    figure = figure_of(argv)
    axes, connections = figure.axes
    assert axes.get_title().startswith("Egress and ingress per hour, ")
    assert axes.get_xlabel() == "time (UTC)"
    assert axes.get_ylabel() == "bytes per bucket"
    assert connections.get_ylabel() == "connections open (mean over the bucket)"
    legend = [t.get_text() for t in axes.get_legend().get_texts()]
    assert legend == [
        "no traffic",
        "partial bucket",
        "egress",
        "ingress",
        "connections open (mean over the bucket)",
    ]
    # every hour of the range is on the chart; the empty ones are gaps (NaN), not ramps
    with_traffic = {row.minute.replace(minute=0) for row in ROWS}
    egress_line = axes.get_lines()[0]
    values = list(egress_line.get_ydata())
    first = START.replace(minute=0)
    hours = math.ceil((NOW - first).total_seconds() / 3600)
    assert len(values) == hours
    assert sum(1 for v in values if math.isnan(v)) == hours - len(with_traffic)
    assert all(TICK.match(t.get_text()) for t in axes.get_xticklabels()), [
        t.get_text() for t in axes.get_xticklabels()
    ]


@pytest.mark.parametrize(
    ("every", "span"),
    [("minute", "45m"), ("5m", "4h"), ("15m", "12h"), ("hour", "3d"), ("day", "3d")],
)
def test_time_ticks_read_at_every_width(figure_of: Any, every: str, span: str) -> None:
    figure = figure_of(["series", "--since", span, "--now", NOW.isoformat(), "--every", every])
    labels = [t.get_text() for t in figure.axes[0].get_xticklabels()]
    assert labels
    assert all(TICK.match(label) for label in labels), labels


def test_query_chart_is_ordered_by_the_metric(
    figure_of: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "query",
        *RANGE,
        "--dimensions",
        "custom_identifier",
        "--metrics",
        "egress_bytes",
        "--order-by=custom_identifier",  # the table's order; the chart ranks by the metric
    ]
    write_png(argv, tmp_path / "query.png", capsys)
    (axes,) = figure_of(argv).axes
    expected = egress_by("custom_identifier").most_common()
    assert [t.get_text() for t in axes.get_xticklabels()] == [c for c, _ in expected]
    assert [t.get_text() for t in axes.texts] == [format_bytes(v) for _, v in expected]
    assert axes.get_xlabel() == "custom identifier"
    assert axes.get_title().startswith("Egress by custom identifier, ")


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["query", *RANGE, "--chart", "q.png"], "query --chart needs exactly one --dimensions"),
        (["top-keys", *RANGE, "--chart", "keys.jpg"], "--chart must end in .png or .svg"),
        (["total", *RANGE, "--chart", "total.png"], "unrecognized arguments: --chart"),
    ],
)
def test_chart_is_refused_before_any_query(
    cli_env: str, capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    # a URL nothing listens on: a refusal that came after a query would be a transport error
    code = main([*argv, "--sandbox", "http://127.0.0.1:9/graphql"])
    err = capsys.readouterr().err
    assert code == 2
    assert words in err
