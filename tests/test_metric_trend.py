"""The metric-to-target trend of a milestone (docs/rules.md, "Metric-to-target trend"), against a
real MLflow server on loopback: which runs count, the best value so far for >= and <= targets,
the extrapolation at the current rate, the "no measurable improvement" and "target met" cases,
and the dashboard's two-sprint sentence. Every expected number is worked out by hand in the
comments; `today` is fixed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from planner.charts.metric_trend import metric_trend_figure
from planner.domain.context import load_context
from planner.domain.epics import create_epic
from planner.domain.metric_trend import NO_IMPROVEMENT, NO_LINKS, metric_trend, metric_trends
from planner.models import ArtefactLink, Milestone
from tests import factories

TODAY = date(2026, 3, 30)  # a Monday; the window of the last 21 days starts on Mon 9 Mar


def at(day: int, hour: int = 12, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


class Setup:
    """FRAUD with a milestone (metric and target), epic E1 delivering it, story S in E1, an
    unrelated epic E2 with its own story, and a second milestone."""

    def __init__(self, db_session, team, store, metric: str, target: str, tz: str = "UTC"):
        self.session, self.project, self.store = db_session, team.project, store
        self.project.mlflow_tracking_uri = store.uri
        self.project.timezone = tz
        self.milestone = Milestone(
            project_id=self.project.id,
            name="Model meets target",
            baseline=date(2026, 5, 29),
            metric=metric,
            target=target,
        )
        self.other = Milestone(project_id=self.project.id, name="Pilot", baseline=date(2026, 6, 1))
        db_session.add_all([self.milestone, self.other])
        db_session.flush()
        ctx = load_context(db_session, self.project)
        self.epic = create_epic(db_session, ctx, {"title": "Recall work"})
        self.epic.milestone_id = self.milestone.id
        self.unrelated = create_epic(db_session, ctx, {"title": "Other work"})
        self.unrelated.milestone_id = self.other.id
        db_session.flush()
        self.story = factories.story(db_session, self.project, team.editor, epic=self.epic.key)
        self.stray = factories.story(db_session, self.project, team.editor, epic=self.unrelated.key)
        db_session.commit()
        self.experiment = store.experiment()

    def run(self, owner, name, value=None, *, end, status="FINISHED", metric=None, extra=None):
        """Log a run through MLflow and link it to `owner` (milestone, epic or story)."""
        metrics = dict(extra or {})
        if value is not None:
            metrics[metric or self.milestone.metric] = value
        run_id = self.store.log_run(
            self.experiment, name=name, metrics=metrics, start=end, end=end, status=status
        )
        self.link(owner, run_id)
        return run_id

    def link(self, owner, run_id):
        column = {
            "Milestone": "milestone_id",
            "Epic": "epic_id",
            "Story": "story_id",
        }[type(owner).__name__]
        self.session.add(
            ArtefactLink(
                project_id=self.project.id, kind="mlflow_run", run_id=run_id, **{column: owner.id}
            )
        )
        self.session.commit()

    def trend(self, today=TODAY, sprints=None):
        return metric_trend(
            self.session, self.project, self.milestone, today=today, sprints=sprints
        )


def sprint(db_session, project, name, start, end, state):
    started = (
        datetime.combine(start, datetime.min.time(), tzinfo=UTC) if state != "planned" else None
    )
    closed = datetime.combine(end, datetime.min.time(), tzinfo=UTC) if state == "closed" else None
    return factories.sprint(
        db_session, project, name, start, end, state=state, started_at=started, closed_at=closed
    )


def test_higher_is_better_series_extrapolation_and_two_sprint_sentence(
    db_session, team, mlflow_store
):
    s = Setup(db_session, team, mlflow_store, "val_recall", ">= 0.85")
    a = s.run(s.milestone, "a", 0.70, end=at(2))
    s.run(s.epic, "b", 0.76, end=at(5))
    s.run(s.story, "c", 0.74, end=at(12))
    s.run(s.milestone, "d", 0.79, end=at(20))
    e = s.run(s.story, "e", 0.82, end=at(26))
    s.link(s.epic, e)  # the same run linked twice counts once
    s.link(s.milestone, a)
    # Not counted: still running, failed, no val_recall, and a run of another milestone's work.
    s.run(s.milestone, "running", 0.99, end=at(27), status="RUNNING")
    s.run(s.milestone, "failed", 0.95, end=at(25), status="FAILED")
    s.run(s.story, "precision only", None, end=at(24), extra={"val_precision": 0.9})
    s.run(s.stray, "other milestone", 0.97, end=at(23))
    s.run(s.unrelated, "other epic", 0.96, end=at(23))
    s.run(s.other, "other milestone itself", 0.98, end=at(23))
    sprints = [
        sprint(db_session, s.project, "S1", date(2026, 2, 23), date(2026, 3, 6), "closed"),
        sprint(db_session, s.project, "S2", date(2026, 3, 9), date(2026, 3, 20), "closed"),
        sprint(db_session, s.project, "S3", date(2026, 3, 23), date(2026, 4, 3), "active"),
        sprint(db_session, s.project, "S4", date(2026, 4, 6), date(2026, 4, 17), "planned"),
    ]
    db_session.commit()

    trend = s.trend(sprints=sprints)

    assert trend.error is None and trend.message is None
    assert trend.linked == 8  # a, b, c, d, e, running, failed, precision only
    assert [p.name for p in trend.points] == ["a", "b", "c", "d", "e"]
    assert [p.value for p in trend.points] == [0.70, 0.76, 0.74, 0.79, 0.82]
    # Best so far, higher is better: 0.70, 0.76, still 0.76 after c's 0.74, 0.79, 0.82.
    assert [p.best for p in trend.points] == [0.70, 0.76, 0.76, 0.79, 0.82]
    assert sorted((k.name, k.reason) for k in trend.skipped) == [
        ("failed", "failed"),
        ("precision only", "did not log val_recall"),
        ("running", "running"),
    ]
    ex = trend.extrapolation
    # Window: 9 Mar (30 Mar - 21 days). Best before it: b's 0.76; now 0.82. Gain 0.06 in 21
    # days = 0.002857 a day. 0.03 left / 0.002857 = 10.5 days, rounded up: 11 -> Fri 10 Apr.
    assert ex.state == "projected"
    assert (ex.window_start, ex.measured_from) == (date(2026, 3, 9), date(2026, 3, 9))
    assert (ex.best_then, ex.best_now) == (0.76, 0.82)
    assert ex.rate_per_day == pytest.approx(0.06 / 21)
    assert ex.reaches_on == date(2026, 4, 10)
    assert ex.sentence == (
        "at the current rate (0.0029 a day since 2026-03-09) val_recall would reach 0.85 on "
        "2026-04-10"
    )
    assert ex.label == "extrapolation at the current rate, not a forecast"
    # The last two sprints started: S2 (9 Mar) and S3. Best before 9 Mar 00:00: 0.76.
    assert trend.summary.since == date(2026, 3, 9)
    assert trend.summary.sprints == ("S2", "S3")
    assert trend.summary.sentence == "val_recall 0.76 → 0.82 in the last two sprints; target 0.85"

    figure = metric_trend_figure(trend)
    import plotly.graph_objects as go

    go.Figure(figure)  # raises on a misspelled property
    names = [t["name"] for t in figure["data"]]
    assert names == [
        "Target ≥ 0.85",
        "Best so far",
        "Each run's value",
        "Extrapolation at the current rate<br>(not a forecast)",
    ]
    best = figure["data"][1]
    assert best["line"]["shape"] == "hv"
    assert best["y"] == [0.70, 0.76, 0.76, 0.79, 0.82, 0.82]  # carried on to today
    assert figure["data"][3]["x"] == ["2026-03-30 23:59", "2026-04-10"]
    assert figure["data"][3]["y"] == [0.82, 0.85]
    assert figure["layout"]["xaxis"]["title"]["text"] == "Run ended"
    assert figure["layout"]["yaxis"]["title"]["text"] == "val_recall"


def test_lower_is_better_and_the_rate_rounds_up_to_whole_days(db_session, team, mlflow_store):
    s = Setup(db_session, team, mlflow_store, "val_loss", "<= 0.20")
    s.run(s.milestone, "one", 0.35, end=at(1))
    s.run(s.epic, "two", 0.30, end=at(10))
    s.run(s.story, "three", 0.32, end=at(15))
    s.run(s.milestone, "four", 0.26, end=at(28))
    trend = s.trend()
    # Lower is better: 0.35, 0.30, still 0.30 after 0.32, 0.26.
    assert [p.best for p in trend.points] == [0.35, 0.30, 0.30, 0.26]
    ex = trend.extrapolation
    # Best before 9 Mar: 0.35; now 0.26: 0.09 better in 21 days. 0.06 to go / (0.09 / 21) = 14
    # days exactly -> 30 Mar + 14 = Mon 13 Apr.
    assert (ex.state, ex.best_then, ex.best_now) == ("projected", 0.35, 0.26)
    assert ex.reaches_on == date(2026, 4, 13)
    # No sprint started yet: the sentence says the best so far.
    assert trend.summary.sentence == "val_loss 0.26 so far; target 0.2"


def test_no_measurable_improvement_in_the_last_three_weeks(db_session, team, mlflow_store):
    s = Setup(db_session, team, mlflow_store, "val_recall", ">= 0.9")
    s.run(s.milestone, "early", 0.80, end=at(20, month=2))
    s.run(s.milestone, "worse", 0.78, end=at(15))
    s.run(s.milestone, "equal", 0.80, end=at(25))
    trend = s.trend()
    ex = trend.extrapolation
    # Best before 9 Mar: 0.80; best now 0.80: no gain.
    assert (ex.state, ex.best_then, ex.best_now) == ("no_improvement", 0.80, 0.80)
    assert ex.sentence == NO_IMPROVEMENT == "no measurable improvement in the last 3 weeks"
    assert ex.reaches_on is None and ex.rate_per_day is None
    assert [t["name"] for t in metric_trend_figure(trend)["data"]] == [
        "Target ≥ 0.9",
        "Best so far",
        "Each run's value",
    ]


def test_a_single_run_shows_no_measurable_improvement(db_session, team, mlflow_store):
    s = Setup(db_session, team, mlflow_store, "val_recall", ">= 0.9")
    s.run(s.story, "only", 0.80, end=at(25))
    ex = s.trend().extrapolation
    # No run before the window: measured from the only run, whose value is also the best now.
    assert (ex.state, ex.measured_from, ex.best_then) == ("no_improvement", date(2026, 3, 25), 0.8)


def test_runs_only_inside_the_window_and_a_first_measured_sentence(db_session, team, mlflow_store):
    s = Setup(db_session, team, mlflow_store, "val_recall", ">= 0.85")
    s.run(s.milestone, "first", 0.71, end=at(10))
    s.run(s.milestone, "second", 0.78, end=at(20))
    sprints = [
        sprint(db_session, s.project, "S2", date(2026, 3, 9), date(2026, 3, 20), "closed"),
        sprint(db_session, s.project, "S3", date(2026, 3, 23), date(2026, 4, 3), "active"),
    ]
    db_session.commit()
    trend = s.trend(sprints=sprints)
    ex = trend.extrapolation
    # No run before 9 Mar: measured from the first run's day, 10 Mar (0.71), to 30 Mar: 20 days,
    # 0.07 gained = 0.0035 a day; 0.07 to go = 20 days -> Sun 19 Apr.
    assert (ex.state, ex.measured_from, ex.best_then) == ("projected", date(2026, 3, 10), 0.71)
    assert ex.reaches_on == date(2026, 4, 19)
    # No run had counted by the start of S2 (9 Mar): the first measurement stands in.
    assert trend.summary.start_value is None
    assert trend.summary.sentence == (
        "val_recall 0.71 (first measured 2026-03-10) → 0.78 in the last two sprints; target 0.85"
    )


def test_target_met_names_the_first_run_that_met_it_in_the_projects_timezone(
    db_session, team, mlflow_store
):
    s = Setup(db_session, team, mlflow_store, "val_recall", ">= 0.85", tz="America/New_York")
    s.run(s.milestone, "base", 0.80, end=at(2))
    s.run(s.epic, "r-086", 0.86, end=at(12, hour=2))  # 11 Mar, 22:00 in New York
    s.run(s.story, "r-088", 0.88, end=at(20))
    only_one = [
        sprint(db_session, s.project, "S1", date(2026, 3, 9), date(2026, 3, 20), "closed"),
    ]
    db_session.commit()
    trend = s.trend(sprints=only_one)
    ex = trend.extrapolation
    assert (ex.state, ex.met_on, ex.met_by.name) == ("met", date(2026, 3, 11), "r-086")
    assert ex.sentence == "target met on 2026-03-11 by run r-086"
    # One sprint started (9 Mar, New York midnight = 04:00 UTC): best before it 0.80.
    assert trend.summary.sentence == "val_recall 0.8 → 0.88 in the last sprint; target 0.85 (met)"
    assert trend.points[1].ended_local == datetime(2026, 3, 11, 22, 0)


def test_no_links_and_an_unreachable_mlflow_say_so(db_session, team, mlflow_store):
    s = Setup(db_session, team, mlflow_store, "val_recall", ">= 0.85")
    empty = s.trend()
    assert (empty.message, empty.points, empty.error) == (NO_LINKS, [], None)
    assert empty.summary.sentence == "val_recall: no runs linked yet; target 0.85"
    s.run(s.milestone, "a", 0.80, end=at(2))
    s.project.mlflow_tracking_uri = "http://127.0.0.1:9"  # the discard port: nothing listens
    db_session.commit()
    down = s.trend()
    assert down.points == [] and "cannot be reached" in down.error
    assert down.summary.sentence == "val_recall: MLflow could not be read; target 0.85"


def test_the_links_of_every_milestone_come_in_one_query(
    app, db_session, team, mlflow_store, count_queries
):
    s = Setup(db_session, team, mlflow_store, "val_recall", ">= 0.85")
    s.other.metric, s.other.target = "val_recall", ">= 0.9"
    for day in (2, 3, 4):
        s.run(s.story, f"m{day}", 0.7 + day / 100, end=at(day))
        s.run(s.stray, f"o{day}", 0.6 + day / 100, end=at(day))
    db_session.commit()
    for row in (s.milestone, s.other, s.project):
        db_session.refresh(row)
    sprints = []
    with app.app_context(), count_queries() as counter:
        trends = metric_trends(
            db_session, s.project, [s.milestone, s.other], today=TODAY, sprints=sprints
        )
    assert counter.count == 1
    assert [[p.name for p in t.points] for t in trends] == [["m2", "m3", "m4"], ["o2", "o3", "o4"]]
