"""A milestone's metric against its target, over time (docs/rules.md, "Metric-to-target trend").

A milestone may carry a target metric (`Milestone.metric`, `Milestone.target`, like val_recall and
">= 0.85"). The runs that count are the MLflow runs linked to the milestone, to its epics and to
the stories of those epics, once they are FINISHED and logged the metric: each counts with the
latest value it logged, at its end time. From them come

- the series: the best value so far after each counted run, in end-time order ("best" following
  the target's direction), beside each run's own value;
- the extrapolation: the rate of improvement over the last 21 days, carried forward until it
  reaches the target (an extrapolation at the current rate, not a forecast);
- the dashboard's sentence: "val_recall 0.78 → 0.82 in the last two sprints; target 0.85".

The links are read in one query for any number of milestones; each run is read through
planner.mlflow_reader (cached, quick timeouts). `today` is passed in, so every figure can be
worked out by hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from planner.domain import links as links_domain
from planner.domain import text_value
from planner.domain.targets import Target, TargetError, format_number, parse_target
from planner.mlflow_reader import RunDetails
from planner.models import ArtefactLink, Epic, Milestone, Project, Sprint, Story
from planner.timeutil import add_days, as_utc, local_date, local_start_of, utcnow, zone

WINDOW_DAYS = 21  # "the last 3 weeks"
LIMIT_DAYS = 3650  # an extrapolated date further than ten years away is not given
LABEL = "extrapolation at the current rate, not a forecast"
NO_LINKS = "No MLflow runs are linked to this milestone, its epics or their stories yet."
NO_IMPROVEMENT = "no measurable improvement in the last 3 weeks"
TOO_EARLY = "too early to extrapolate: every counted run ended today"

DayText = Callable[[date], str]


def _iso(day: date) -> str:
    return day.isoformat()


# --- the milestone's metric and target (validation) --------------------------------------------


def clean_metric_target(
    values: dict[str, Any], milestone: Milestone | None, errors: dict[str, str]
) -> dict[str, Any]:
    """Check `metric` and `target` in `values` (either may be left out, to keep the stored one):
    the metric is a one-line name, the target a comparison and a number; one without the other is
    refused. Return the columns to set ({} when neither was given); messages go into `errors`."""
    if "metric" not in values and "target" not in values:
        return {}
    cleaned: dict[str, Any] = {}
    metric = milestone.metric if milestone is not None else None
    target = milestone.target if milestone is not None else None
    problems: dict[str, str] = {}
    if "metric" in values:
        metric, problem = text_value(values["metric"], "short")
        if problem:
            problems["metric"] = (
                "Write the metric's name as MLflow logs it, like val_recall."
                if problem == "Enter text."
                else problem
            )
    if "target" in values:
        raw = values["target"]
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            target = None
        elif not isinstance(raw, str):
            problems["target"] = (
                "Write the target as text: a comparison and a number, like >= 0.85."
            )
        else:
            try:
                target = str(parse_target(raw))
            except TargetError as error:
                problems["target"] = str(error)
    if not problems:
        if metric and not target:
            problems["target"] = (
                f"Give the target {metric} must reach, like >= 0.85, or clear the metric."
            )
        elif target and not metric:
            problems["metric"] = (
                f"Name the metric the target {target} is about, like val_recall, "
                "or clear the target."
            )
    if problems:
        errors.update(problems)
        return {}
    cleaned["metric"], cleaned["target"] = metric, target
    return cleaned


# --- what a trend holds ------------------------------------------------------------------------


@dataclass(frozen=True)
class RunPoint:
    """A counted run: its value of the metric and the best value so far once it had ended."""

    run_id: str
    name: str | None
    value: float
    best: float
    ended: datetime  # UTC
    ended_local: datetime  # the same moment in the project's timezone, without tzinfo
    ui_url: str | None

    @property
    def label(self) -> str:
        return self.name or self.run_id

    @property
    def value_text(self) -> str:
        return format_number(self.value)

    @property
    def best_text(self) -> str:
        return format_number(self.best)


@dataclass(frozen=True)
class SkippedRun:
    """A linked run that does not count, and why (running, failed, metric not logged, unread)."""

    run_id: str
    name: str | None
    status: str | None
    reason: str
    detail: str | None = None  # the reader's message, for a run that could not be read

    @property
    def full_reason(self) -> str:
        return f"{self.reason}: {self.detail}" if self.detail else self.reason


@dataclass(frozen=True)
class Extrapolation:
    state: str  # "met", "projected", "too_slow", "no_improvement" or "no_runs"
    window_start: date  # today - 21 days: the rate is measured from here (or the first run)
    measured_from: date | None  # window_start, or the first counted run's day when it is later
    best_then: float | None  # the best so far at measured_from
    best_now: float | None
    rate_per_day: float | None  # improvement per day, in the target's direction (> 0 to project)
    reaches_on: date | None  # state "projected": the day the line reaches the target
    met_on: date | None  # state "met": the day the first run meeting the target ended
    met_by: RunPoint | None
    sentence: str
    label: str = LABEL

    @property
    def best_then_text(self) -> str:
        return format_number(self.best_then) if self.best_then is not None else ""

    @property
    def best_now_text(self) -> str:
        return format_number(self.best_now) if self.best_now is not None else ""


@dataclass(frozen=True)
class Summary:
    """The dashboard's sentence: the best value at the start of the last two sprints and now."""

    since: date | None  # the start of the earlier of the two sprints started last
    sprints: tuple[str, ...]  # their names, earlier first
    start_value: float | None  # the best so far at `since` (None: no run had counted by then)
    first: RunPoint | None  # when start_value is None: the first run counted since
    now_value: float | None
    sentence: str


@dataclass
class MetricTrend:
    milestone_id: int
    metric: str | None
    target: Target | None
    today: date
    timezone: str
    linked: int = 0  # distinct linked runs
    points: list[RunPoint] = field(default_factory=list)
    skipped: list[SkippedRun] = field(default_factory=list)
    error: str | None = None  # MLflow could not be read at all (the reader's message)
    message: str | None = None  # why there is nothing to draw, when there is no error
    extrapolation: Extrapolation | None = None
    summary: Summary | None = None

    @property
    def best(self) -> RunPoint | None:
        """The counted run holding the best value (the first to reach it)."""
        if not self.points:
            return None
        best = self.points[-1].best
        return next(p for p in self.points if p.value == best)

    @property
    def has_chart(self) -> bool:
        return bool(self.points) and self.target is not None

    def as_json(self) -> dict[str, Any]:
        ex, summary, best = self.extrapolation, self.summary, self.best
        return {
            "milestone": self.milestone_id,
            "metric": self.metric,
            "target": str(self.target) if self.target else None,
            "today": self.today.isoformat(),
            "timezone": self.timezone,
            "linked_runs": self.linked,
            "error": self.error,
            "message": self.message,
            "series": [
                {
                    "run_id": p.run_id,
                    "name": p.name,
                    "end_time": p.ended.isoformat().replace("+00:00", "Z"),
                    "value": p.value,
                    "best": p.best,
                }
                for p in self.points
            ],
            "skipped": [
                {"run_id": s.run_id, "name": s.name, "status": s.status, "reason": s.full_reason}
                for s in self.skipped
            ],
            "best": (
                {"run_id": best.run_id, "name": best.name, "value": best.value}
                if best is not None
                else None
            ),
            "extrapolation": (
                {
                    "state": ex.state,
                    "label": ex.label,
                    "window_start": ex.window_start.isoformat(),
                    "measured_from": _day_or_none(ex.measured_from),
                    "best_then": ex.best_then,
                    "best_now": ex.best_now,
                    "rate_per_day": ex.rate_per_day,
                    "reaches_on": _day_or_none(ex.reaches_on),
                    "met_on": _day_or_none(ex.met_on),
                    "met_by_run": ex.met_by.run_id if ex.met_by else None,
                    "sentence": ex.sentence,
                }
                if ex is not None
                else None
            ),
            "summary": (
                {
                    "since": _day_or_none(summary.since),
                    "sprints": list(summary.sprints),
                    "start_value": summary.start_value,
                    "now_value": summary.now_value,
                    "sentence": summary.sentence,
                }
                if summary is not None
                else None
            ),
        }


def _day_or_none(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


# --- the links: one query for any number of milestones -----------------------------------------


def run_links(
    session: Session, project: Project, milestone_ids: Sequence[int]
) -> dict[int, list[ArtefactLink]]:
    """The MLflow run links of each milestone, of its epics and of their stories, in one query:
    milestone id -> links in the order they were made."""
    if not milestone_ids:
        return {}
    story_epic = aliased(Epic)
    owner = func.coalesce(ArtefactLink.milestone_id, Epic.milestone_id, story_epic.milestone_id)
    rows = session.execute(
        select(ArtefactLink, owner)
        .outerjoin(Epic, Epic.id == ArtefactLink.epic_id)
        .outerjoin(Story, Story.id == ArtefactLink.story_id)
        .outerjoin(story_epic, story_epic.id == Story.epic_id)
        .where(
            ArtefactLink.project_id == project.id,
            ArtefactLink.kind == "mlflow_run",
            owner.in_(list(milestone_ids)),
        )
        .order_by(ArtefactLink.id)
    ).all()
    found: dict[int, list[ArtefactLink]] = {m: [] for m in milestone_ids}
    for link, milestone_id in rows:
        found[milestone_id].append(link)
    return found


def read_runs(
    project: Project, links: Iterable[ArtefactLink]
) -> list[tuple[str, RunDetails | None, str | None]]:
    """Read each distinct run once: (run id, details, None) or (run id, None, the reader's
    message)."""
    return [
        (r.link.run_id or "", r.details, r.error) for r in links_domain.read_runs(project, links)
    ]


# --- the trend: pure from here on --------------------------------------------------------------


def build_trend(
    milestone_id: int,
    metric: str | None,
    target_text: str | None,
    reads: Sequence[tuple[str, RunDetails | None, str | None]],
    *,
    today: date,
    timezone: str,
    sprints: Iterable[Sprint] = (),
    day_text: DayText = _iso,
) -> MetricTrend:
    """The series, the extrapolation and the sentence from the runs as read."""
    target = None
    if target_text:
        try:
            target = parse_target(target_text)
        except TargetError:
            target = None
    trend = MetricTrend(milestone_id, metric, target, today, timezone, linked=len(reads))
    if not metric or target is None:
        trend.message = "This milestone has no target metric."
        return trend
    if not reads:
        trend.message = NO_LINKS
        trend.summary = _summary(trend, sprints, day_text)
        return trend
    errors = [message for _, details, message in reads if details is None]
    if len(errors) == len(reads):
        trend.error = errors[0]
        trend.summary = _summary(trend, sprints, day_text)
        return trend
    tz = zone(timezone)
    counted: list[tuple[datetime, str, RunDetails]] = []
    for run_id, details, message in reads:
        if details is None:
            trend.skipped.append(SkippedRun(run_id, None, None, "could not be read", message))
        elif not details.finished:
            trend.skipped.append(
                SkippedRun(run_id, details.name, details.status, f"{details.status.lower()}")
            )
        elif metric not in details.metrics:
            trend.skipped.append(
                SkippedRun(run_id, details.name, details.status, f"did not log {metric}")
            )
        elif details.end_time is None:
            trend.skipped.append(
                SkippedRun(run_id, details.name, details.status, "has no end time")
            )
        else:
            counted.append((as_utc(details.end_time), details.run_id, details))
    best: float | None = None
    for ended, run_id, details in sorted(counted, key=lambda item: (item[0], item[1])):
        value = details.metrics[metric]
        best = value if best is None else target.best([best, value])
        trend.points.append(
            RunPoint(
                run_id=run_id,
                name=details.name,
                value=value,
                best=best,
                ended=ended,
                ended_local=ended.astimezone(tz).replace(tzinfo=None),
                ui_url=details.ui_url,
            )
        )
    if not trend.points:
        trend.message = f"No finished linked run has logged {metric} yet."
    trend.extrapolation = _extrapolate(trend, day_text)
    trend.summary = _summary(trend, sprints, day_text)
    return trend


def _best_before(points: Sequence[RunPoint], moment: datetime) -> RunPoint | None:
    """The last point that ended before `moment` (its `best` is the best so far then)."""
    before = [p for p in points if p.ended < moment]
    return before[-1] if before else None


def _improvement(target: Target, then: float, now: float) -> float:
    return now - then if target.higher_is_better else then - now


def _extrapolate(trend: MetricTrend, day_text: DayText) -> Extrapolation:
    target, points, today = trend.target, trend.points, trend.today
    assert target is not None
    window_start = add_days(today, -WINDOW_DAYS)
    empty = dict(
        window_start=window_start,
        measured_from=None,
        best_then=None,
        best_now=None,
        rate_per_day=None,
        reaches_on=None,
        met_on=None,
        met_by=None,
    )
    if not points:
        return Extrapolation(
            state="no_runs", sentence=f"No finished run has logged {trend.metric} yet.", **empty
        )
    best_now = points[-1].best
    met = next((p for p in points if target.met_by(p.value)), None)
    if met is not None:
        met_on = local_date(met.ended, trend.timezone)
        return Extrapolation(
            **{**empty, "best_now": best_now, "met_on": met_on, "met_by": met},
            state="met",
            sentence=f"target met on {day_text(met_on)} by run {met.label}",
        )
    earlier = _best_before(points, local_start_of(window_start, trend.timezone))
    if earlier is not None:
        measured_from, best_then = window_start, earlier.best
    else:  # every counted run ended in the window: measure from the first one
        measured_from, best_then = local_date(points[0].ended, trend.timezone), points[0].value
    days = (today - measured_from).days
    gain = _improvement(target, best_then, best_now)
    base = {**empty, "measured_from": measured_from, "best_then": best_then, "best_now": best_now}
    if days <= 0:  # every counted run ended today: no time to measure a rate over
        return Extrapolation(**base, state="too_early", sentence=TOO_EARLY)
    if gain <= 0:
        return Extrapolation(**base, state="no_improvement", sentence=NO_IMPROVEMENT)
    rate = gain / days
    needed = math.ceil(round(abs(target.value - best_now) / rate, 9))
    rate_words = f"{_rate_text(rate)} a day since {day_text(measured_from)}"
    if needed > LIMIT_DAYS:
        return Extrapolation(
            **{**base, "rate_per_day": rate},
            state="too_slow",
            sentence=(
                f"at the current rate ({rate_words}) {trend.metric} would not reach "
                f"{format_number(target.value)} within ten years"
            ),
        )
    reaches_on = add_days(today, needed)
    return Extrapolation(
        **{**base, "rate_per_day": rate, "reaches_on": reaches_on},
        state="projected",
        sentence=(
            f"at the current rate ({rate_words}) {trend.metric} would reach "
            f"{format_number(target.value)} on {day_text(reaches_on)}"
        ),
    )


def _rate_text(rate: float) -> str:
    return format_number(rate) if rate >= 0.0001 else f"{rate:.2g}"


def last_two_sprints(sprints: Iterable[Sprint]) -> list[Sprint]:
    """The two sprints started last (active or closed), earlier first: by start date."""
    started = [s for s in sprints if s.state in ("active", "closed")]
    return sorted(started, key=lambda s: (s.start_date, s.id))[-2:]


def _summary(trend: MetricTrend, sprints: Iterable[Sprint], day_text: DayText) -> Summary:
    metric, target = trend.metric, trend.target
    assert metric and target is not None
    goal = f"target {format_number(target.value)}"
    chosen = last_two_sprints(sprints)
    since = chosen[0].start_date if chosen else None
    names = tuple(s.name for s in chosen)
    if trend.error is not None:
        return Summary(
            since, names, None, None, None, f"{metric}: MLflow could not be read; {goal}"
        )
    if not trend.points:
        what = "no runs linked yet" if trend.linked == 0 else "no finished run has logged it yet"
        return Summary(since, names, None, None, None, f"{metric}: {what}; {goal}")
    now = trend.points[-1].best
    if target.met_by(now):
        goal += " (met)"
    period = {0: "", 1: " in the last sprint", 2: " in the last two sprints"}[len(chosen)]
    if since is None:
        return Summary(None, names, None, None, now, f"{metric} {_n(now)} so far; {goal}")
    earlier = _best_before(trend.points, local_start_of(since, trend.timezone))
    if earlier is not None:
        sentence = f"{metric} {_n(earlier.best)} → {_n(now)}{period}; {goal}"
        return Summary(since, names, earlier.best, None, now, sentence)
    first = trend.points[0]
    first_day = day_text(local_date(first.ended, trend.timezone))
    sentence = (
        f"{metric} {_n(first.value)} (first measured {first_day}) → {_n(now)}{period}; {goal}"
    )
    return Summary(since, names, None, first, now, sentence)


def _n(value: float) -> str:
    return format_number(value)


# --- entry points ------------------------------------------------------------------------------


def metric_trends(
    session: Session,
    project: Project,
    milestones: Sequence[Milestone],
    *,
    today: date | None = None,
    sprints: Iterable[Sprint] | None = None,
    day_text: DayText = _iso,
) -> list[MetricTrend]:
    """The trend of each milestone that carries a target metric, in the order given: one query
    for the links (and one for the sprints unless they are passed in)."""
    with_metric = [m for m in milestones if m.metric and m.target]
    if not with_metric:
        return []
    if today is None:
        today = local_date(utcnow(), project.timezone)
    if sprints is None:
        sprints = session.scalars(select(Sprint).where(Sprint.project_id == project.id)).all()
    sprints = list(sprints)
    links = run_links(session, project, [m.id for m in with_metric])
    return [
        build_trend(
            m.id,
            m.metric,
            m.target,
            read_runs(project, links[m.id]),
            today=today,
            timezone=project.timezone,
            sprints=sprints,
            day_text=day_text,
        )
        for m in with_metric
    ]


def metric_trend(
    session: Session,
    project: Project,
    milestone: Milestone,
    *,
    today: date | None = None,
    sprints: Iterable[Sprint] | None = None,
    day_text: DayText = _iso,
) -> MetricTrend:
    """One milestone's trend (a milestone without a target metric gets an empty one)."""
    if today is None:
        today = local_date(utcnow(), project.timezone)
    found = metric_trends(
        session, project, [milestone], today=today, sprints=sprints, day_text=day_text
    )
    if found:
        return found[0]
    return build_trend(
        milestone.id, None, None, [], today=today, timezone=project.timezone, day_text=day_text
    )


__all__ = [
    "LABEL",
    "NO_IMPROVEMENT",
    "NO_LINKS",
    "Extrapolation",
    "MetricTrend",
    "RunPoint",
    "SkippedRun",
    "Summary",
    "build_trend",
    "clean_metric_target",
    "last_two_sprints",
    "metric_trend",
    "metric_trends",
    "read_runs",
    "run_links",
]
