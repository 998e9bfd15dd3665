"""Plotly figure dicts from metric series. Pure: no Flask, no SQL, no plotly import needed.

Every figure has a title, axis titles and a legend, and the page shows the same numbers in a
table beside it. Sprint days are categories, so non-working days are simply not on the axis;
the burndown and burnup start from a "Start" point (the commitment at the start of day one).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date
from typing import Any

from planner.forecasting import risk_level
from planner.metrics import STATUS_KEYS, SprintSeries, Velocity
from planner.planning import PlanCheck
from planner.timeutil import add_days
from planner.vocab import STATUSES

COLORS = {
    "remaining": "#2f5fd0",
    "ideal": "#8a93a3",
    "scope": "#b45309",
    "done": "#1b7f4b",
    "committed": "#9db2e8",
    "completed": "#2f5fd0",
    "average": "#b42318",
    "capacity": "#9db2e8",
    "needed": "#2f5fd0",
    "over": "#b42318",
    "todo": "#c9ced8",
    "in_progress": "#7ea0e6",
    "review": "#b795e0",
    "done_area": "#5fb98a",
}
STAGE_COLORS = [
    "#7c5cc4",
    "#2f7fc1",
    "#c2571a",
    "#1d8a7a",
    "#2f5fd0",
    "#a2368a",
    "#3d7a2a",
    "#6b6f2a",
    "#8a5a44",
    "#4a6278",
]
START = "Start"
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13}


def plain(text: str) -> str:
    """User text made inert for a figure: Plotly renders a subset of HTML (links, bold, line
    breaks) in titles, legends, ticks and hover text, so <, > and & become entities, which it
    shows as the characters they stand for."""
    return html.escape(text, quote=False)


def wrap_label(text: str, width: int = 24) -> str:
    """Break a long category label into lines (Plotly reads <br>) so bars keep their room."""
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "<br>".join(lines)


def day_label(day: date) -> str:
    """Mon 2 Mar."""
    return f"{day.strftime('%a')} {day.day} {day.strftime('%b')}"


def _layout(title: str, x_title: str, y_title: str, **extra: Any) -> dict[str, Any]:
    layout = {
        "title": {
            "text": title,
            "x": 0,
            "xanchor": "left",
            "y": 0.98,
            "yanchor": "top",
            "font": {"size": 16},
        },
        "font": FONT,
        "margin": {"l": 56, "r": 16, "t": 84, "b": 56},
        "xaxis": {"title": {"text": x_title}, "automargin": True},
        "yaxis": {
            "title": {"text": y_title},
            "rangemode": "tozero",
            "automargin": True,
            "zeroline": True,
        },
        # Under the title, clear of the x axis and its turned labels.
        "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.02, "yanchor": "bottom"},
        "hovermode": "x unified",
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
        "height": 380,
    }
    layout.update(extra)
    return layout


def _unit_label(unit: str) -> str:
    return "Stories" if unit == "stories" else "Points"


def burndown_figure(series: SprintSeries, unit: str = "points") -> dict[str, Any]:
    """Remaining work per sprint day against the ideal line, scope changes marked."""
    s = series.series(unit)
    x = [START, *(day_label(d) for d in series.days)]
    remaining = [s["committed"], *s["remaining"]]
    ideal = [s["committed"], *s["ideal"]]
    changes: dict[date, list[str]] = {}
    for change in series.scope_changes:
        amount = 1 if unit == "stories" else change.points
        if unit == "stories" and change.change == "re-estimated":
            continue
        if unit == "stories" and change.change == "removed":
            amount = -1
        changes.setdefault(change.day, []).append(
            f"{plain(change.story)} {change.change} ({amount:+d})"
        )
    marker_x, marker_y, marker_text = [], [], []
    for index, day in enumerate(series.days):
        if day in changes and s["remaining"][index] is not None:
            marker_x.append(day_label(day))
            marker_y.append(s["remaining"][index])
            marker_text.append("<br>".join(changes[day]))
    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "Ideal",
            "x": x,
            "y": ideal,
            "line": {"color": COLORS["ideal"], "dash": "dash", "width": 2},
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "Remaining",
            "x": x,
            "y": remaining,
            "line": {"color": COLORS["remaining"], "width": 3},
            "connectgaps": False,
        },
    ]
    if marker_x:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "Scope change",
                "x": marker_x,
                "y": marker_y,
                "text": marker_text,
                "hovertemplate": "%{text}<extra></extra>",
                "marker": {
                    "symbol": "diamond",
                    "size": 12,
                    "color": COLORS["scope"],
                    "line": {"color": "#ffffff", "width": 1},
                },
            }
        )
    title = f"{plain(series.sprint.name)}: burndown ({_unit_label(unit).lower()})"
    return {
        "data": traces,
        "layout": _layout(
            title,
            "Sprint day",
            f"{_unit_label(unit)} remaining",
            xaxis={"title": {"text": "Sprint day"}, "type": "category", "automargin": True},
        ),
    }


def burnup_figure(series: SprintSeries, unit: str = "points") -> dict[str, Any]:
    """Scope and done per sprint day."""
    s = series.series(unit)
    x = [START, *(day_label(d) for d in series.days)]
    committed_scope = series.committed.scope(unit)
    committed_done = series.committed.done(unit)
    traces = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "Scope",
            "x": x,
            "y": [committed_scope, *s["scope"]],
            "line": {"color": COLORS["scope"], "width": 2, "shape": "hv"},
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "Done",
            "x": x,
            "y": [committed_done, *s["done"]],
            "line": {"color": COLORS["done"], "width": 3},
        },
    ]
    title = f"{plain(series.sprint.name)}: burnup ({_unit_label(unit).lower()})"
    return {
        "data": traces,
        "layout": _layout(
            title,
            "Sprint day",
            _unit_label(unit),
            xaxis={"title": {"text": "Sprint day"}, "type": "category", "automargin": True},
        ),
    }


def cumulative_flow_figure(series: SprintSeries) -> dict[str, Any]:
    """Stories per status per sprint day, stacked: done at the bottom, to do on top."""
    every_day = [day_label(d) for d in series.days]
    # Days still to come are left out (a stacked area would draw them as zero); the axis still
    # spans the whole sprint.
    shown = [i for i in range(len(series.days)) if series.visible(i)]
    traces = []
    for status in reversed(STATUS_KEYS):
        index = STATUS_KEYS.index(status)
        color = COLORS["done_area" if status == "done" else status]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": STATUSES[status],
                "x": [every_day[i] for i in shown],
                "y": [series.per_day[i].by_status[index] for i in shown],
                "stackgroup": "flow",
                "line": {"color": color, "width": 1},
                "fillcolor": color,
            }
        )
    title = f"{plain(series.sprint.name)}: cumulative flow"
    return {
        "data": traces,
        "layout": _layout(
            title,
            "Sprint day",
            "Stories",
            xaxis={
                "title": {"text": "Sprint day"},
                "type": "category",
                "categoryorder": "array",
                "categoryarray": every_day,
                "range": [-0.5, len(every_day) - 0.5],
                "automargin": True,
            },
        ),
    }


def velocity_figure(velocity: Velocity, highlight: int | None = None) -> dict[str, Any]:
    """Committed and completed points per closed sprint, with the average of the last three."""
    names = [plain(e.sprint.name) for e in velocity.sprints]
    traces: list[dict[str, Any]] = [
        {
            "type": "bar",
            "name": "Committed",
            "x": names,
            "y": [e.committed for e in velocity.sprints],
            "marker": {"color": COLORS["committed"]},
        },
        {
            "type": "bar",
            "name": "Completed",
            "x": names,
            "y": [e.completed for e in velocity.sprints],
            "marker": {
                "color": [
                    COLORS["completed"] if e.sprint.id != highlight else "#17223b"
                    for e in velocity.sprints
                ]
            },
        },
    ]
    if velocity.average is not None and velocity.window:
        window = [plain(e.sprint.name) for e in velocity.window]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"Average of last {len(window)}",
                "x": window,
                "y": [round(velocity.average, 1)] * len(window),
                "line": {"color": COLORS["average"], "dash": "dot", "width": 2},
            }
        )
    return {
        "data": traces,
        "layout": _layout(
            "Velocity: committed and completed per sprint",
            "Closed sprint",
            "Points",
            barmode="group",
            xaxis={"title": {"text": "Closed sprint"}, "type": "category", "automargin": True},
        ),
    }


def stage_points_figure(
    sprints: Sequence[SprintSeries], stages: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    """Points in each sprint by ML lifecycle stage (scope at each sprint's last day), stacked."""
    names = [plain(s.sprint.name) for s in sprints]
    traces = []
    for position, (key, name) in enumerate([*stages, (None, "No stage")]):
        values = [sum(st.weight for st in s.final_stories if st.stage == key) for s in sprints]
        if not any(values):
            continue
        traces.append(
            {
                "type": "bar",
                "name": plain(name),
                "x": names,
                "y": values,
                "marker": {
                    "color": STAGE_COLORS[position % len(STAGE_COLORS)] if key else "#c9ced8"
                },
            }
        )
    return {
        "data": traces,
        "layout": _layout(
            "Points by ML lifecycle stage per sprint",
            "Sprint",
            "Points",
            barmode="stack",
            # Up to nine stages: a column on the right reads better than rows above the plot.
            legend={
                "orientation": "v",
                "x": 1.02,
                "xanchor": "left",
                "y": 1,
                "yanchor": "top",
                "traceorder": "normal",
            },
            margin={"l": 56, "r": 16, "t": 56, "b": 56},
            xaxis={"title": {"text": "Sprint"}, "type": "category", "automargin": True},
        ),
    }


def role_load_figure(check: PlanCheck, title: str) -> dict[str, Any]:
    """Points each functional role's work needs against the capacity of members holding it."""
    lines = [line for line in check.lines if line.capacity is not None]
    names = [plain(line.name) for line in lines]
    traces = [
        {
            "type": "bar",
            "name": "Needed",
            "x": names,
            "y": [line.needed for line in lines],
            "marker": {
                "color": [COLORS["over"] if line.over else COLORS["needed"] for line in lines]
            },
        },
        {
            "type": "bar",
            "name": "Capacity",
            "x": names,
            "y": [line.capacity for line in lines],
            "marker": {"color": COLORS["capacity"]},
        },
    ]
    return {
        "data": traces,
        "layout": _layout(
            plain(title),
            "Functional role",
            "Points",
            barmode="group",
            xaxis={"title": {"text": "Functional role"}, "type": "category", "automargin": True},
        ),
    }


# --- milestones and risks ----------------------------------------------------------------------

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
