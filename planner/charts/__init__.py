"""Plotly figure dicts from metric series. Pure: no Flask, no SQL, no plotly import needed.

Every figure has a title, axis titles and a legend, and the page shows the same numbers in a
table beside it; user text is made inert with `plain` before it enters a figure. Sprint figures
are in `sprint`, milestone and risk figures in `milestones`, what they share in `common`.
"""

from planner.charts.common import COLORS, FONT, STAGE_COLORS, START, day_label, plain, wrap_label
from planner.charts.milestones import (
    LEVEL_COLORS,
    STATUS_COLORS,
    heat_map_figure,
    slip_figure,
    trend_figure,
)
from planner.charts.sprint import (
    burndown_figure,
    burnup_figure,
    cumulative_flow_figure,
    role_load_figure,
    stage_points_figure,
    velocity_figure,
)

__all__ = [
    "COLORS",
    "FONT",
    "LEVEL_COLORS",
    "STAGE_COLORS",
    "START",
    "STATUS_COLORS",
    "burndown_figure",
    "burnup_figure",
    "cumulative_flow_figure",
    "day_label",
    "heat_map_figure",
    "plain",
    "role_load_figure",
    "slip_figure",
    "stage_points_figure",
    "trend_figure",
    "velocity_figure",
    "wrap_label",
]
