"""The dashboards' figures as plotly JSON (`{"data": [...], "layout": {...}}`).

Written as plain dicts in plotly's schema rather than built with `plotly.graph_objects` (as
surveys/charts.py does for a snapshot the worker builds once): building and validating one
figure with plotly costs some 30 ms, and these pages draw several figures per request, live.
The browser draws them with the plotly.js served from the installed plotly package
(`surveys/staticfiles.py`), so nothing comes from a CDN, in the colours of `surveys/charts.py`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from surveys.charts import BLUE, GREEN, GRID  # the portal's one chart palette


def _labels(labels: Sequence[Any]) -> list[str]:
    """Category labels as text: plotly draws the HTML in a label (a listing titled
    `<a href=…>` would be a link in the chart), so each is escaped."""
    return [html.escape(str(x)) for x in labels]


def _layout(y_title: str, **extra: Any) -> dict[str, Any]:
    layout = {
        "template": {"layout": {"paper_bgcolor": "white", "plot_bgcolor": "white"}},
        "margin": {"l": 60, "r": 20, "t": 40, "b": 60},
        "height": 320,
        "yaxis": {"title": {"text": y_title}, "rangemode": "tozero", "gridcolor": GRID},
        # Days, weeks, nodes and kinds are all labels: as dates plotly would draw hours
        # between two days.
        "xaxis": {"automargin": True, "type": "category"},
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        "barmode": "group",
    }
    layout.update(extra)
    return layout


def bars(
    labels: Sequence[Any], values: Sequence[int | float], *, y_title: str, name: str = ""
) -> dict[str, Any]:
    """One series of bars with their numbers on them."""
    return {
        "data": [
            {
                "type": "bar",
                "x": _labels(labels),
                "y": list(values),
                "text": [str(v) for v in values],
                "textposition": "auto",
                "marker": {"color": BLUE},
                "name": html.escape(name or y_title),
                "hovertemplate": "%{x}: %{y}<extra></extra>",
            }
        ],
        "layout": _layout(y_title, showlegend=False),
    }


def grouped_bars(
    labels: Sequence[Any],
    series: Sequence[tuple[str, Sequence[int | float], str]],
    *,
    y_title: str,
    stacked: bool = False,
) -> dict[str, Any]:
    """Several series `(name, values, colour)` over the same labels."""
    return {
        "data": [
            {
                "type": "bar",
                "x": _labels(labels),
                "y": list(values),
                "name": html.escape(name),
                "marker": {"color": colour},
                "hovertemplate": f"{html.escape(name)}: %{{y}}<extra></extra>",
            }
            for name, values, colour in series
        ],
        "layout": _layout(y_title, barmode="stack" if stacked else "group"),
    }


def bars_and_line(
    labels: Sequence[Any],
    bar_values: Sequence[int],
    line_values: Sequence[int],
    *,
    bar_name: str,
    line_name: str,
    bar_colour: str = BLUE,
    line_colour: str = GREEN,
) -> dict[str, Any]:
    """Bars on the left axis and a line on the right one (blocks per day, tree size)."""
    x = _labels(labels)
    return {
        "data": [
            {
                "type": "bar",
                "x": x,
                "y": list(bar_values),
                "name": html.escape(bar_name),
                "marker": {"color": bar_colour},
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": x,
                "y": list(line_values),
                "name": html.escape(line_name),
                "yaxis": "y2",
                "line": {"color": line_colour},
            },
        ],
        "layout": _layout(
            bar_name,
            yaxis2={
                "title": {"text": line_name},
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
            },
            margin={"l": 60, "r": 70, "t": 40, "b": 60},
        ),
    }
