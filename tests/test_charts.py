"""Figures: valid Plotly (graph_objects refuses misspelt properties), titled, labelled, with a
legend, and carrying the hand-computed numbers of test_metrics' basic sprint."""

from __future__ import annotations

from datetime import UTC, date, datetime

import plotly.graph_objects as go
import pytest

from planner import charts
from planner.metrics import Calendar, SprintInfo, sweep, velocity
from planner.planning import check_plan
from tests.test_metrics import SPRINT, at, basic_history, closed_sprint

NOW = at("2026-03-06T12:00")


@pytest.fixture
def series():
    stories, changes = basic_history()
    return sweep(Calendar("UTC"), [SPRINT], stories, changes, now=NOW)[1]


def check(figure: dict) -> go.Figure:
    built = go.Figure(figure)  # raises on any unknown property
    layout = figure["layout"]
    assert layout["title"]["text"]
    assert layout["xaxis"]["title"]["text"] and layout["yaxis"]["title"]["text"]
    assert "legend" in layout
    assert all(trace.get("name") for trace in figure["data"])
    return built


def trace(figure: dict, name: str) -> dict:
    return next(t for t in figure["data"] if t["name"] == name)


def test_burndown_figure(series):
    figure = charts.burndown_figure(series, "points")
    check(figure)
    remaining = trace(figure, "Remaining")
    assert remaining["x"][:3] == ["Start", "Mon 2 Mar", "Tue 3 Mar"]
    assert remaining["y"] == [16, 16, 11, 13, 10, 8, None, None, None, None, None]
    assert trace(figure, "Ideal")["y"][:3] == pytest.approx([16, 14.4, 12.8])
    changes = trace(figure, "Scope change")
    assert changes["x"] == ["Wed 4 Mar"] and changes["y"] == [13]
    assert changes["text"] == ["T-4 added (+2)"]
    assert figure["layout"]["xaxis"]["type"] == "category"  # no weekends on the axis
    stories = charts.burndown_figure(series, "stories")
    assert trace(stories, "Remaining")["y"][:6] == [4, 4, 3, 4, 3, 2]


def test_burnup_figure(series):
    figure = charts.burnup_figure(series)
    check(figure)
    assert trace(figure, "Scope")["y"][:6] == [16, 16, 16, 18, 18, 18]
    assert trace(figure, "Done")["y"][:6] == [0, 0, 5, 5, 8, 10]


def test_cumulative_flow_figure_leaves_out_days_to_come(series):
    figure = charts.cumulative_flow_figure(series)
    check(figure)
    assert [t["name"] for t in figure["data"]] == ["Done", "Review", "In progress", "To do"]
    assert trace(figure, "To do")["y"] == [4, 2, 3, 3, 2]
    assert trace(figure, "Done")["y"] == [0, 1, 1, 2, 3]
    assert len(figure["layout"]["xaxis"]["categoryarray"]) == 10  # the axis spans the sprint


def test_velocity_figure_with_the_average_of_the_last_three():
    parts = [
        closed_sprint(1, date(2026, 1, 5), date(2026, 1, 16), [(1, 8, 10), (2, 5, 11)], {1}),
        closed_sprint(2, date(2026, 1, 19), date(2026, 1, 30), [(3, 13, 10)], {3}),
        closed_sprint(3, date(2026, 2, 2), date(2026, 2, 13), [(5, 5, 10), (6, 8, 11)], {6}),
        closed_sprint(4, date(2026, 2, 16), date(2026, 2, 27), [(7, 21, 10)], {7}),
    ]
    result = sweep(
        Calendar("UTC"),
        [p[0] for p in parts],
        [s for p in parts for s in p[1]],
        [c for p in parts for c in p[2]],
        now=datetime(2026, 3, 1, tzinfo=UTC),
    )
    figure = charts.velocity_figure(velocity(result.values()), highlight=4)
    check(figure)
    assert trace(figure, "Committed")["y"] == [13, 13, 13, 21]
    assert trace(figure, "Completed")["y"] == [8, 13, 8, 21]
    average = trace(figure, "Average of last 3")
    assert average["x"] == ["S2", "S3", "S4"] and average["y"] == [14.0] * 3  # (13+8+21)/3
    assert "annotations" not in figure["layout"]


def test_velocity_figure_before_any_sprint_closed_says_so():
    active = SprintInfo(1, "S1", date(2026, 3, 2), date(2026, 3, 13), "active")
    result = sweep(Calendar("UTC"), [active], [], [], now=datetime(2026, 3, 4, tzinfo=UTC))
    figure = charts.velocity_figure(velocity(result.values()))
    check(figure)
    assert trace(figure, "Committed")["x"] == []
    (note,) = figure["layout"]["annotations"]
    assert note["text"] == "No sprint has been closed yet:<br>velocity starts with the first one."


def test_stage_points_figure_stacks_each_sprints_points_by_stage():
    stories, changes = basic_history()
    stories = [
        s.__class__(**{**s.__dict__, "stage": stage})
        for s, stage in zip(
            stories, ["modeling", "data_labeling", "modeling", None, None], strict=True
        )
    ]
    result = sweep(Calendar("UTC"), [SPRINT], stories, changes, now=at("2026-03-20T00:00"))
    figure = charts.stage_points_figure(
        [result[1]], [("data_labeling", "Data labeling"), ("modeling", "Modeling & training")]
    )
    check(figure)
    # Final scope: A 5 and C 8 (modeling), B 3 (labeling), D 2 and E 0 (no stage).
    assert [(t["name"], t["y"]) for t in figure["data"]] == [
        ("Data labeling", [3]),
        ("Modeling &amp; training", [13]),  # user text is escaped; Plotly shows "&"
        ("No stage", [2]),
    ]
    assert figure["layout"]["barmode"] == "stack"


def test_role_load_figure_marks_over_committed_roles():
    plan = check_plan(
        [("annotator", 8), ("annotator", 5), ("ml_engineer", 3)],
        {1: 6, 2: 6},
        {1: ["annotator"], 2: ["ml_engineer", "annotator"]},
        {1: "Kemal", 2: "Chen"},
        velocity=None,
    )
    figure = charts.role_load_figure(plan, "Sprint 1: load by functional role")
    check(figure)
    needed = trace(figure, "Needed")
    assert needed["x"] == ["ML engineer", "Annotator / labeler"]
    assert needed["y"] == [3, 13] and trace(figure, "Capacity")["y"] == [6, 12]
    assert needed["marker"]["color"] == [charts.COLORS["needed"], charts.COLORS["over"]]


def test_role_load_figure_says_why_it_has_no_bars():
    # Every story open to any role (5 + 3 points) and Kemal, the one member with capacity,
    # holds no role: nothing to draw a bar for.
    plan = check_plan([(None, 5), (None, 3)], {1: 6}, {1: []}, {1: "Kemal"}, velocity=None)
    figure = charts.role_load_figure(plan, "Sprint 1: load by functional role")
    check(figure)
    assert trace(figure, "Needed")["x"] == [] and trace(figure, "Capacity")["y"] == []
    (note,) = figure["layout"]["annotations"]
    assert note["text"] == (
        "No estimated story in this sprint names a functional role,<br>"
        "and no member with capacity holds one:<br>its 8 points can be taken by anyone."
    )
    # A data scientist's story not yet estimated draws no bar either; with no points at all,
    # the note has no count.
    unestimated = check_plan([("data_scientist", None)], {}, {}, {}, velocity=None)
    (note,) = charts.role_load_figure(unestimated, "Sprint 2")["layout"]["annotations"]
    assert note["text"] == (
        "No estimated story in this sprint names a functional role,<br>"
        "and no member with capacity holds one."
    )
    # Kemal's capacity as an annotator is a bar: no note.
    plan = check_plan([(None, 5)], {1: 6}, {1: ["annotator"]}, {1: "Kemal"}, velocity=None)
    assert "annotations" not in charts.role_load_figure(plan, "Sprint 1")["layout"]


def test_an_empty_sprint_still_draws():
    empty = SprintInfo(9, "Empty", date(2026, 3, 2), date(2026, 3, 6), "planned")
    result = sweep(Calendar("UTC"), [empty], [], [], now=NOW)[9]
    for figure in (
        charts.burndown_figure(result),
        charts.burnup_figure(result),
        charts.cumulative_flow_figure(result),
    ):
        check(figure)


@pytest.mark.parametrize(
    ("reported", "forecast", "achieved", "x_span", "y_span"),
    [
        # One report: each axis is widened to 28 days around its dates (14 each side), then
        # padded by 3 days (a twentieth of 28 would be 1): 4 Mar -> 15 Feb to 21 Mar.
        (
            date(2026, 3, 4),
            date(2026, 5, 1),
            None,
            ["2026-02-15", "2026-03-21"],
            ["2026-04-14", "2026-05-18"],
        ),
        # Stored before dates were bounded: the padding stops at the ends of the calendar.
        (
            date(2026, 3, 4),
            date(9999, 12, 31),
            None,
            ["2026-02-15", "2026-03-21"],
            ["9999-12-14", "9999-12-31"],
        ),
        (
            date(2026, 3, 4),
            date(1, 1, 2),
            None,
            ["2026-02-15", "2026-03-21"],
            ["0001-01-01", "0001-01-19"],
        ),
        (
            date(1, 1, 1),
            date(9999, 12, 31),
            None,
            ["0001-01-01", "0001-01-18"],
            ["9999-12-14", "9999-12-31"],
        ),
        (date(2026, 3, 4), date(2026, 5, 1), date(9999, 12, 30), [None, "9999-12-31"], None),
        (
            date(9999, 12, 31),
            date(9999, 12, 31),
            date(9999, 12, 31),
            ["9999-12-14", "9999-12-31"],
            ["9999-12-14", "9999-12-31"],
        ),
    ],
)
def test_the_trend_padding_cannot_overflow(reported, forecast, achieved, x_span, y_span):
    from planner.forecasting import ForecastPoint

    figure = charts.trend_figure([("Launch", [ForecastPoint(reported, forecast)], achieved)])
    check(figure)
    x_low, x_high = figure["layout"]["xaxis"]["range"]
    y_low, y_high = figure["layout"]["yaxis"]["range"]
    if x_span[0]:
        assert x_low == x_span[0]
    assert x_high == x_span[1]
    if y_span:
        assert [y_low, y_high] == y_span
    assert x_low < reported.isoformat() or x_low == "0001-01-01"
    # The diagonal runs across every date either axis shows.
    assert figure["data"][0]["x"] == [min(x_low, y_low), max(x_high, y_high)]
    assert figure["data"][0]["y"] == figure["data"][0]["x"]


def test_the_trend_axes_read_as_weeks_or_months_with_a_legend_under_the_plot():
    from planner.forecasting import ForecastPoint

    figure = charts.trend_figure(
        [
            (
                "Pilot",
                [
                    ForecastPoint(date(2026, 11, 2), date(2027, 1, 22)),
                    ForecastPoint(date(2026, 11, 30), date(2027, 2, 12)),
                ],
                None,
            ),
            ("Launch", [ForecastPoint(date(2026, 11, 2), date(2027, 9, 30))], None),
        ]
    )
    check(figure)
    layout = figure["layout"]
    # Reports span 2 Nov to 30 Nov (28 days, padded by 3): weekly ticks "16 Nov".
    assert layout["xaxis"]["range"] == ["2026-10-30", "2026-12-03"]
    assert layout["xaxis"]["dtick"] == 7 * 86_400_000
    assert layout["xaxis"]["tickformat"] == "%-d %b"
    # Forecasts span 22 Jan to 30 Sep 2027 (251 days, padded by 12): months "Jan 2027".
    assert layout["yaxis"]["range"] == ["2027-01-10", "2027-10-12"]
    assert layout["yaxis"]["tickformat"] == "%b %Y" and layout["yaxis"]["dtick"] == "M1"
    assert layout["xaxis"]["hoverformat"] == layout["yaxis"]["hoverformat"] == "%-d %b %Y"
    assert "scaleanchor" not in layout["yaxis"]
    assert layout["legend"]["title"]["text"] == "Milestones"
    assert layout["legend"]["y"] < 0  # under the plot
    assert [t["name"] for t in figure["data"]] == ["Report date = forecast", "Pilot", "Launch"]


def test_the_slip_chart_names_rows_on_the_axis_with_room_and_a_status_legend():
    figure = charts.slip_figure(
        [
            ("Model meets target: recall >= 0.85 at 1% FPR", 7, "at_risk"),
            ("Baseline model", -1, "on_track"),
            ("Pilot with fraud investigators", 21, "late"),
        ]
    )
    check(figure)
    names = [t["name"] for t in figure["data"]]
    assert names == ["On track", "At risk", "Late"]
    late = trace(figure, "Late")
    assert (late["x"], late["y"], late["text"]) == (
        [21],
        ["Pilot with fraud<br>investigators"],
        ["+21"],
    )
    assert trace(figure, "On track")["text"] == ["\u22121"]  # a real minus sign
    layout = figure["layout"]
    # The rows keep the order given, whatever their status.
    assert layout["yaxis"]["categoryarray"] == [
        "Model meets target:<br>recall &gt;= 0.85 at 1%<br>FPR",
        "Baseline model",
        "Pilot with fraud<br>investigators",
    ]
    assert layout["barmode"] == "relative"
    # 6 label lines and 3 rows: 150 + 20 * 6 + 22 * 3 = 336 pixels, so no two names touch.
    assert layout["height"] == 336
    # From -1 to 21 is 22 days: room for the numbers beyond the bars, 22 * 0.35 + 1 = 8.7 days
    # left of the shortest, 22 * 0.3 + 1 = 7.6 right of the longest.
    assert layout["xaxis"]["range"] == pytest.approx([-9.7, 28.6])
