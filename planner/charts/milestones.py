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


DAY_MS = 86_400_000
STATUS_NAMES = {"on_track": "On track", "at_risk": "At risk", "late": "Late"}


def _padded(days: Sequence[date], least: int) -> tuple[date, date]:
    """The span of `days` with a margin on each side (a twentieth of the span, at least 3 days),
    widened to `least` days so that a few close reports still get a readable scale."""
    low, high = min(days), max(days)
    short = least - (high - low).days
    if short > 0:
        low, high = add_days(low, -(short // 2)), add_days(high, short - short // 2)
    pad = max(3, (high - low).days // 20)
    return add_days(low, -pad), add_days(high, pad)


def _date_axis(low: date, high: date) -> dict[str, Any]:
    """Ticks a person reads at a glance: weeks ("16 Nov") over a few months, months
    ("Jan 2027") beyond, and unambiguous dates in the hover."""
    if (high - low).days <= 120:
        return {"tickformat": "%-d %b", "dtick": 7 * DAY_MS, "hoverformat": "%-d %b %Y"}
    months = max(1, (high - low).days // 30 // 8)
    return {"tickformat": "%b %Y", "dtick": f"M{months}", "hoverformat": "%-d %b %Y"}


def trend_figure(milestones: Sequence[tuple[str, Sequence, date | None]]) -> dict[str, Any]:
    """Milestone trend analysis: x = report date, y = forecast date, one line per milestone
    through its forecasts in report order, ending on the diagonal when achieved. Each axis spans
    its own dates (reports across, forecasts up), so the lines get the whole plot; the dashed
    diagonal (report date = forecast) shows where the dates it crosses meet. A rising line is a
    milestone slipping. `milestones` are (name, forecasts with reported_on/forecast/note,
    achieved)."""
    traces: list[dict[str, Any]] = []
    reports: list[date] = []
    forecasts: list[date] = []
    for position, (name, points, achieved) in enumerate(milestones):
        ordered = sorted(enumerate(points), key=lambda item: (item[1].reported_on, item[0]))
        xs = [f.reported_on for _, f in ordered]
        ys = [f.forecast for _, f in ordered]
        notes = [plain(f.note or "") for _, f in ordered]
        if achieved is not None:
            xs.append(achieved)
            ys.append(achieved)
            notes.append("Achieved")
        if not xs:
            continue
        reports.extend(xs)
        forecasts.extend(ys)
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
    layout = _layout(
        "Milestone trend: forecasts over time",
        "Reported on",
        "Forecast date",
        height=480,
        hovermode="closest",
    )
    for axis in ("xaxis", "yaxis"):
        layout[axis]["type"] = "date"
        layout[axis].pop("rangemode", None)
    if reports:
        x_low, x_high = _padded(reports, least=28)
        y_low, y_high = _padded(forecasts, least=28)
        layout["xaxis"].update(range=[x_low.isoformat(), x_high.isoformat()])
        layout["xaxis"].update(_date_axis(x_low, x_high))
        layout["yaxis"].update(range=[y_low.isoformat(), y_high.isoformat()])
        layout["yaxis"].update(_date_axis(y_low, y_high))
        # The diagonal across every date either axis shows; the axes clip it to the plot.
        span = [min(x_low, y_low).isoformat(), max(x_high, y_high).isoformat()]
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
    # The legend under the plot, one milestone a line: the plot keeps the card's width.
    layout["legend"] = {
        "title": {"text": "Milestones"},
        "orientation": "v",
        "x": 0,
        "xanchor": "left",
        "y": -0.18,
        "yanchor": "top",
    }
    layout["height"] = 420 + 22 * (len(traces) + 1)
    layout["margin"] = {"l": 72, "r": 16, "t": 56, "b": 40 + 22 * (len(traces) + 1)}
    return {"data": traces, "layout": layout}


def slip_figure(rows: Sequence[tuple[str, int, str]]) -> dict[str, Any]:
    """Slip in days per milestone (name, slip_days, status): horizontal bars, one row per
    milestone with its name on the axis (wrapped, each row tall enough for its lines), the
    days written at the bar's end, coloured by status with a legend of the statuses."""
    names = [wrap_label(plain(name)) for name, _, _ in rows]
    traces = []
    for status in ("on_track", "at_risk", "late"):
        mine = [
            (label, slip) for label, (_, slip, s) in zip(names, rows, strict=True) if s == status
        ]
        if not mine:
            continue
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": STATUS_NAMES[status],
                "x": [slip for _, slip in mine],
                "y": [label for label, _ in mine],
                "text": [
                    f"+{slip}" if slip > 0 else f"\u2212{-slip}" if slip else "0"
                    for _, slip in mine
                ],
                "textposition": "outside",
                "cliponaxis": False,
                "marker": {"color": STATUS_COLORS[status]},
                "hovertemplate": "%{y}: %{x} days<extra></extra>",
            }
        )
    lines = sum(label.count("<br>") + 1 for label in names)
    layout = _layout(
        "Slip against the baseline",
        "Days late (− = early)",
        "Milestone",
        height=max(260, 150 + 20 * lines + 22 * len(rows)),
        hovermode="closest",
        barmode="relative",
        bargap=0.35,
    )
    layout["yaxis"] = {
        "title": {"text": "Milestone"},
        "automargin": True,
        "autorange": "reversed",
        "type": "category",
        "categoryorder": "array",
        "categoryarray": names,
    }
    # Room beyond the longest bar each way for its "+21", clear of the names on the axis.
    slips = [slip for _, slip, _ in rows] or [0]
    low, high = min(0, *slips), max(0, *slips)
    span = high - low or 1
    layout["xaxis"]["range"] = [low - span * 0.35 - 1 if low < 0 else -0.5, high + span * 0.3 + 1]
    layout["xaxis"]["zeroline"] = True
    layout["showlegend"] = True
    return {"data": traces, "layout": layout}


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
