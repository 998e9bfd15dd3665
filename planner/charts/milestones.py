"""Milestone and risk figures: the milestone trend analysis, slip per milestone and the 5x5 risk
heat map."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from planner.charts.common import STAGE_COLORS, _layout, plain, wrap_label
from planner.forecasting import risk_level
from planner.timeutil import add_days

STATUS_COLORS = {"on_track": "#1b7f4b", "at_risk": "#b45309", "late": "#b42318"}
LEVEL_COLORS = {"low": "#d8efe0", "medium": "#fbe6b4", "high": "#f6c09a", "critical": "#ef9a93"}


def trend_figure(milestones: Sequence[tuple[str, Sequence, date | None]]) -> dict[str, Any]:
    """Milestone trend analysis: x = report date, y = forecast date, one line per milestone
    through its forecasts in report order, ending on the diagonal when achieved. Both axes share
    one calendar scale; a rising line is a milestone slipping, one parallel to the diagonal is
    never arriving. `milestones` are (name, forecasts with reported_on/forecast/note, achieved)."""
    traces: list[dict[str, Any]] = []
    days: list[date] = []
    for position, (name, forecasts, achieved) in enumerate(milestones):
        ordered = sorted(enumerate(forecasts), key=lambda item: (item[1].reported_on, item[0]))
        xs = [f.reported_on for _, f in ordered]
        ys = [f.forecast for _, f in ordered]
        notes = [plain(f.note or "") for _, f in ordered]
        if achieved is not None:
            xs.append(achieved)
            ys.append(achieved)
            notes.append("Achieved")
        if not xs:
            continue
        days.extend(xs + ys)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": plain(name),
                "x": [d.isoformat() for d in xs],
                "y": [d.isoformat() for d in ys],
                "text": notes,
                # The name comes from the trace, never spliced into the template itself.
                "hovertemplate": "Reported %{x}<br>Forecast %{y}<br>%{text}"
                "<extra>%{fullData.name}</extra>",
                "line": {"width": 2, "color": STAGE_COLORS[position % len(STAGE_COLORS)]},
                "marker": {"size": 7},
            }
        )
    if days:
        low, high = min(days), max(days)
        pad = max(3, (high - low).days // 20)
        span = [add_days(low, -pad).isoformat(), add_days(high, pad).isoformat()]
        traces.insert(
            0,
            {
                "type": "scatter",
                "mode": "lines",
                "name": "Report date = forecast",
                "x": span,
                "y": span,
                "hoverinfo": "skip",
                "line": {"color": "#8a93a3", "dash": "dash", "width": 1},
            },
        )
    else:
        span = None
    layout = _layout(
        "Milestone trend: forecasts over time",
        "Reported on",
        "Forecast date",
        height=460,
        hovermode="closest",
    )
    for axis in ("xaxis", "yaxis"):
        layout[axis]["type"] = "date"
        layout[axis].pop("rangemode", None)
        if span:
            layout[axis]["range"] = span
    layout["yaxis"]["scaleanchor"] = "x"  # one day is the same length on both axes
    layout["yaxis"]["scaleratio"] = 1
    for axis in ("xaxis", "yaxis"):
        layout[axis]["constrain"] = "domain"  # a square plot, not a stretched date range
    layout["legend"] = {"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"}
    layout["margin"] = {"l": 64, "r": 16, "t": 56, "b": 56}
    return {"data": traces, "layout": layout}


def slip_figure(rows: Sequence[tuple[str, int, str]]) -> dict[str, Any]:
    """Slip in days per milestone (name, slip_days, status), coloured by status."""
    names = [wrap_label(plain(name)) for name, _, _ in rows]
    trace = {
        "type": "bar",
        "orientation": "h",
        "name": "Slip (days)",
        "x": [slip for _, slip, _ in rows],
        "y": names,
        "marker": {"color": [STATUS_COLORS[status] for _, _, status in rows]},
        "hovertemplate": "%{y}: %{x} days<extra></extra>",
    }
    layout = _layout(
        "Slip against the baseline",
        "Days late (below 0: early)",
        "Milestone",
        height=max(240, 80 + 44 * len(rows)),
        hovermode="closest",
    )
    layout["yaxis"] = {
        "title": {"text": "Milestone"},
        "automargin": True,
        "autorange": "reversed",
        "type": "category",
    }
    layout["showlegend"] = True
    return {"data": [trace], "layout": layout}


def heat_map_figure(cells: Sequence[Sequence[int]]) -> dict[str, Any]:
    """The 5x5 risk matrix: impact on x, likelihood on y, each cell coloured by its level and
    showing how many open risks it holds."""
    order = ("low", "medium", "high", "critical")
    z = [[order.index(risk_level(lk, im)) for im in range(1, 6)] for lk in range(1, 6)]
    text = [[str(cells[lk][im]) if cells[lk][im] else "" for im in range(5)] for lk in range(5)]
    scale = []
    for index, name in enumerate(order):
        scale.append([index / 4, LEVEL_COLORS[name]])
        scale.append([(index + 1) / 4, LEVEL_COLORS[name]])
    trace = {
        "type": "heatmap",
        "name": "Open risks",
        "x": [1, 2, 3, 4, 5],
        "y": [1, 2, 3, 4, 5],
        "z": z,
        "zmin": 0,
        "zmax": 3,
        "text": text,
        "texttemplate": "%{text}",
        "textfont": {"size": 18},
        "customdata": [[cells[lk][im] for im in range(5)] for lk in range(5)],
        "hovertemplate": "Likelihood %{y}, impact %{x}: %{customdata} open risk(s)<extra></extra>",
        "colorscale": scale,
        "xgap": 3,
        "ygap": 3,
        # A legend of the four levels instead of a colorbar: the colorbar's gradient is drawn
        # with an inline style, which the Content-Security-Policy forbids.
        "showscale": False,
    }
    levels = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": name.capitalize(),
            "x": [None],
            "y": [None],
            "hoverinfo": "skip",
            "marker": {"symbol": "square", "size": 14, "color": LEVEL_COLORS[name]},
        }
        for name in order
    ]
    layout = _layout(
        "Risk heat map (open risks per cell)",
        "Impact",
        "Likelihood",
        height=420,
        hovermode="closest",
    )
    layout["xaxis"].update({"dtick": 1, "range": [0.5, 5.5]})
    layout["yaxis"].update({"dtick": 1, "range": [0.5, 5.5]})
    layout["yaxis"].pop("rangemode", None)
    layout["showlegend"] = True
    return {"data": [trace, *levels], "layout": layout}
