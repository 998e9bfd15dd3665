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
    ("reported", "forecast", "achieved", "span"),
    [
        # 58 days apart: padded by 3 days (a twentieth would be 2) on each side.
        (date(2026, 3, 4), date(2026, 5, 1), None, ["2026-03-01", "2026-05-04"]),
        # Stored before dates were bounded: the padding stops at the ends of the calendar.
        (date(2026, 3, 4), date(9999, 12, 31), None, [None, "9999-12-31"]),
        (date(2026, 3, 4), date(1, 1, 2), None, ["0001-01-01", None]),
        (date(1, 1, 1), date(9999, 12, 31), None, ["0001-01-01", "9999-12-31"]),
        (date(2026, 3, 4), date(2026, 5, 1), date(9999, 12, 30), [None, "9999-12-31"]),
        (date(9999, 12, 31), date(9999, 12, 31), date(9999, 12, 31), [None, "9999-12-31"]),
    ],
)
def test_the_trend_padding_cannot_overflow(reported, forecast, achieved, span):
    from planner.forecasting import ForecastPoint

    figure = charts.trend_figure([("Launch", [ForecastPoint(reported, forecast)], achieved)])
    check(figure)
    low, high = figure["layout"]["xaxis"]["range"]
    assert figure["layout"]["yaxis"]["range"] == [low, high]
    assert figure["data"][0]["x"] == [low, high]  # the diagonal spans the axes
    if span[0]:
        assert low == span[0]
    if span[1]:
        assert high == span[1]
    assert low < min(reported, forecast).isoformat() or low == "0001-01-01"
