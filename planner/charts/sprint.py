"""Sprint figures: burndown, burnup, cumulative flow, velocity, points by ML stage and load by
functional role. Sprint days are categories, so non-working days are simply not on the axis; the
burndown and burnup start from a "Start" point (the commitment at the start of day one)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from planner.charts.common import (
    COLORS,
    STAGE_COLORS,
    START,
    _layout,
    _unit_label,
    day_label,
    plain,
    say_empty,
)
from planner.metrics import STATUS_KEYS, SprintSeries, Velocity
from planner.planning import PlanCheck
from planner.scope_changes import first_of_each_day
from planner.vocab import STATUSES

HOVER_LINES = 20  # scope changes named in one day's hover text


def burndown_figure(series: SprintSeries, unit: str = "points") -> dict[str, Any]:
    """Remaining work per sprint day against the ideal line, scope changes marked."""
    s = series.series(unit)
    x = [START, *(day_label(d) for d in series.days)]
    remaining = [s["committed"], *s["remaining"]]
    ideal = [s["committed"], *s["ideal"]]
    changes: dict[date, list[str]] = {}
    for summary, firsts in first_of_each_day(series.scope_changes, HOVER_LINES):
        lines = []
        for change in firsts:
            amount = 1 if unit == "stories" else change.points
            if unit == "stories" and change.change == "re-estimated":
                continue
            if unit == "stories" and change.change == "removed":
                amount = -1
            lines.append(f"{plain(change.story)} {change.change} ({amount:+d})")
        # A day with thousands of changes names the first HOVER_LINES: the CSV has them all.
        counted = summary.added + summary.removed
        if unit != "stories":
            counted += summary.re_estimated
        if counted > len(lines):
            lines.append(f"and {counted - len(lines):,} more")
        if lines:
            changes[summary.day] = lines
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
    layout = _layout(
        "Velocity: committed and completed per sprint",
        "Closed sprint",
        "Points",
        barmode="group",
        xaxis={"title": {"text": "Closed sprint"}, "type": "category", "automargin": True},
    )
    if not velocity.sprints:
        say_empty(layout, "No sprint has been closed yet:<br>velocity starts with the first one.")
    return {"data": traces, "layout": layout}


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
    layout = _layout(
        plain(title),
        "Functional role",
        "Points",
        barmode="group",
        xaxis={"title": {"text": "Functional role"}, "type": "category", "automargin": True},
    )
    if not lines:
        any_role = sum(line.needed for line in check.lines)
        say_empty(
            layout,
            "No estimated story in this sprint names a functional role,<br>"
            "and no member with capacity holds one"
            + (f":<br>its {any_role} points can be taken by anyone." if any_role else "."),
        )
    return {"data": traces, "layout": layout}
