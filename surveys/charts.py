"""Figure 2 as a plotly figure: answers per option as bars with their numbers, and the shares.

Built by the worker with the snapshot; the dashboard hands the JSON to the plotly.js served
from our own static files. The layout is stored once and the data once per group; only the
numbers differ between groups, so the figure is built with plotly once and each group's data
is that figure's data with its own numbers in (building a plotly figure costs some 30 ms,
which a snapshot with many institutions would pay once per institution otherwise).
"""

from __future__ import annotations

import copy
import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

# The one palette of every chart the portal draws: these survey figures and the dashboards'
# (dashboards/charts.py imports it from here, beside the plotly.js and CSS both are drawn
# with, surveys/staticfiles.py and surveys/plotlycss.py), so a colour means the same on
# every page.
BLUE = "#0b5cab"
GREEN = "#1d7a45"
AMBER = "#c77c02"
PURPLE = "#8a4fb5"
RED = "#b3261e"
TEAL = "#2a8fa3"
GREY = "#5a6b7b"
LIGHT_GREY = "#9aa5b1"  # the least of several series (withdrawn requests)
GRID = "#e5e8ec"  # grid lines, not data
# Categories in turn (a pie's slices), when no colour means something of its own.
SEQUENCE = (BLUE, GREEN, AMBER, PURPLE, RED, TEAL, GREY)

BAR_COLOUR = BLUE
PIE_COLOURS = list(SEQUENCE)


def _figure(labels: Sequence[str], counts: Sequence[int], percents: Sequence[int]) -> dict:
    # Imported on first use: plotly's figures take about 0.15 s to import, which every process
    # (web, worker, manage.py) would otherwise pay at start for a chart only a rebuild draws.
    import plotly.graph_objects as go
    import plotly.io as pio
    from plotly.subplots import make_subplots

    # plotly draws the HTML in a label: an option text holding a link would be a link.
    labels = [html.escape(str(label)) for label in labels]
    fig = make_subplots(
        rows=1,
        cols=2,
        specs=[[{"type": "xy"}, {"type": "domain"}]],
        subplot_titles=("Number", "Proportion"),
        column_widths=[0.55, 0.45],
    )
    fig.add_trace(
        go.Bar(
            x=list(labels),
            y=list(counts),
            text=list(counts),
            textposition="outside",
            marker_color=BAR_COLOUR,
            hovertemplate="%{x}: %{y} answers<extra></extra>",
            name="Number",
            showlegend=False,  # the legend names the options (the pie's slices), not the bars
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Pie(
            labels=list(labels),
            values=list(counts),
            # Our own largest-remainder percentages: plotly's would round each share on its
            # own and could add up to 99 % or 101 %, unlike the table beside it.
            text=[f"{p}%" for p in percents],
            textinfo="text",
            hovertemplate="%{label}: %{text} (%{value} answers)<extra></extra>",
            sort=False,
            direction="clockwise",
            marker={"colors": PIE_COLOURS[: len(labels)]},
            name="Proportion",
        ),
        row=1,
        col=2,
    )
    fig.update_layout(
        template="plotly_white",
        showlegend=True,
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 40, "r": 20, "t": 40, "b": 40},
        height=420,
        yaxis={"title": {"text": "Answers"}, "rangemode": "tozero"},
    )
    return json.loads(pio.to_json(fig, validate=True))


def _with_numbers(data: list[dict], counts: Sequence[int], percents: Sequence[int]) -> list[dict]:
    bar, pie = copy.deepcopy(data)
    bar["y"] = bar["text"] = list(counts)
    pie["values"] = list(counts)
    pie["text"] = [f"{p}%" for p in percents]
    return [bar, pie]


def build(
    labels: Sequence[str], groups: Mapping[str, tuple[Sequence[int], Sequence[int]]]
) -> dict[str, Any]:
    """`{"layout": …, "data": {group key: [bar, pie]}}` for `(counts, percents)` per group."""
    if not groups:
        return {"layout": {}, "data": {}}
    first_counts, first_percents = next(iter(groups.values()))
    figure = _figure(labels, first_counts, first_percents)
    return {
        "layout": figure["layout"],
        "data": {
            key: _with_numbers(figure["data"], counts, percents)
            for key, (counts, percents) in groups.items()
        },
    }
