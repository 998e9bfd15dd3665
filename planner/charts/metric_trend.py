"""The metric-to-target figure of a milestone: the best value so far as a step line, each run's
own value as a point, the target as a horizontal line, and (when there is one) the extrapolation
at the current rate as a dashed line. Pure: it reads the attributes of a trend
(planner.domain.metric_trend.MetricTrend) without importing it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from planner.charts.common import _layout, plain
from planner.numbers import format_number

BEST = "#2f5fd0"
RUNS = "#8a93a3"
TARGET = "#1b7f4b"
EXTRAPOLATION = "#b45309"


def _x(moment: datetime | date) -> str:
    if isinstance(moment, datetime):
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.isoformat()


def metric_trend_figure(trend: Any) -> dict[str, Any]:
    """Plotly figure dict of a trend with counted runs (x: when each run ended, in the project's
    timezone; y: the metric)."""
    metric = plain(trend.metric or "metric")
    target = trend.target
    points = list(trend.points)
    today = datetime.combine(trend.today, datetime.max.time()).replace(microsecond=0)
    traces: list[dict[str, Any]] = []
    xs = [_x(p.ended_local) for p in points]
    names = [plain(p.label) for p in points]
    ex = trend.extrapolation
    last_x = max([today, *(p.ended_local for p in points)]) if points else today
    if ex is not None and ex.state == "projected" and ex.reaches_on is not None:
        last_x = max(last_x, datetime.combine(ex.reaches_on, datetime.min.time()))
    first_x = min(p.ended_local for p in points) if points else today - timedelta(days=21)
    span = max(last_x - first_x, timedelta(days=7))
    low, high = first_x - span / 20, last_x + span / 20
    if target is not None:
        comparison = {">=": "≥", "<=": "≤"}.get(target.comparison, target.comparison)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"Target {plain(comparison)} {format_number(target.value)}",
                "x": [_x(low), _x(high)],
                "y": [target.value, target.value],
                "hoverinfo": "skip",
                "line": {"color": TARGET, "dash": "dot", "width": 2},
            }
        )
    if points:
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "Best so far",
                "x": [*xs, _x(today)],
                "y": [*(p.best for p in points), points[-1].best],
                "line": {"color": BEST, "width": 3, "shape": "hv"},
                "hovertemplate": "Best so far %{y}<extra></extra>",
            }
        )
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "Each run's value",
                "x": xs,
                "y": [p.value for p in points],
                "text": names,
                "hovertemplate": "Run %{text}<br>ended %{x}<br>" + metric + " %{y}<extra></extra>",
                "marker": {"color": RUNS, "size": 8, "line": {"color": "#ffffff", "width": 1}},
            }
        )
    if ex is not None and ex.state == "projected" and ex.reaches_on is not None:
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "Extrapolation at the current rate<br>(not a forecast)",
                "x": [_x(today), _x(ex.reaches_on)],
                "y": [ex.best_now, target.value],
                "line": {"color": EXTRAPOLATION, "dash": "dash", "width": 2},
                "hovertemplate": "At the current rate: %{y} on %{x}<extra></extra>",
            }
        )
    layout = _layout(
        "Best run so far against the target",
        "Run ended",
        metric,
        hovermode="closest",
    )
    layout["yaxis"].pop("rangemode", None)
    layout["yaxis"]["zeroline"] = False
    layout["xaxis"].update(
        {"type": "date", "range": [_x(low), _x(high)], "hoverformat": "%-d %b %Y %H:%M"}
    )
    values = [p.value for p in points] + ([target.value] if target is not None else [])
    if values:
        bottom, top = min(values), max(values)
        pad = max((top - bottom) * 0.15, abs(top) * 0.02, 1e-6)
        layout["yaxis"]["range"] = [bottom - pad, top + pad]
    # The legend under the plot, one entry a line, so long names never cover the title.
    layout["legend"] = {"orientation": "v", "x": 0, "xanchor": "left", "y": -0.2, "yanchor": "top"}
    layout["height"] = 420 + 22 * len(traces)
    layout["margin"] = {"l": 64, "r": 16, "t": 56, "b": 60 + 22 * len(traces)}
    return {"data": traces, "layout": layout}
