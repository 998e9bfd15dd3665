"""Milestones: create, edit, re-forecast, mark achieved, link the epics that deliver them, and
suggest a forecast from the team's pace."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, inspect, select
from sqlalchemy.orm import Session, selectinload

from planner.domain import (
    ValidationError,
    date_value,
    outbox,
    required_text,
    take_texts,
    text_value,
)
from planner.domain.context import ProjectContext, stage_ref
from planner.domain.metric_trend import clean_metric_target
from planner.forecasting import (
    ForecastPoint,
    MilestoneState,
    MonteCarlo,
    VelocityForecast,
    milestone_state,
    monte_carlo,
    velocity_forecast,
)
from planner.inputs import TEXT_LIMITS
from planner.metrics import Calendar
from planner.models import (
    Account,
    Epic,
    Milestone,
    MilestoneForecast,
    Project,
    Sprint,
    Story,
)
from planner.timeutil import add_days, local_date, utcnow

NAME_MAX = TEXT_LIMITS["name"]


def project_start(project: Project) -> date:
    """The local date the project was created: nothing can be reported before it."""
    return local_date(project.created_at, project.timezone)


# --- milestones --------------------------------------------------------------------------------


def milestones_of(session: Session, project: Project) -> list[Milestone]:
    """The project's milestones with their forecasts, by baseline."""
    return list(
        session.scalars(
            select(Milestone)
            .where(Milestone.project_id == project.id)
            .options(selectinload(Milestone.forecasts))
            .order_by(Milestone.baseline, Milestone.id)
        )
    )


def state_of(milestone: Milestone, tolerance_days: int) -> MilestoneState:
    return _state(milestone, milestone.forecasts, tolerance_days)


def _clean_milestone(
    session: Session, ctx: ProjectContext, values: Mapping[str, Any], milestone: Milestone | None
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    if "name" in values:
        name, problem = required_text(values["name"], max_len=NAME_MAX, empty="Enter a name.")
        if problem:
            errors["name"] = problem
        else:
            clash = session.scalar(
                select(Milestone.id).where(
                    Milestone.project_id == ctx.project.id,
                    Milestone.name == name,
                    Milestone.id != (milestone.id if milestone else -1),
                )
            )
            if clash is not None:
                errors["name"] = f"{ctx.project.key} already has a milestone called {name}."
            cleaned["name"] = name
    take_texts(values, {"description": "description"}, cleaned, errors)
    if "stage" in values:
        cleaned["stage_id"], problem = stage_ref(ctx, values["stage"])
        if problem:
            errors["stage"] = problem
    if "baseline" in values:
        message = "Enter the date first promised, as YYYY-MM-DD."
        baseline, problem = date_value(values["baseline"], empty=message, invalid=message)
        if problem:
            errors["baseline"] = problem
        else:
            cleaned["baseline"] = baseline
    if "epics" in values:
        keys = [k for k in values["epics"] or [] if k]
        unknown = [k for k in keys if k not in ctx.epics]
        if unknown:
            errors["epics"] = f"{ctx.project.key} has no epic {unknown[0]!r}."
        cleaned["epics"] = keys
    cleaned.update(clean_metric_target(values, milestone, errors))  # metric + target, or neither
    if errors:
        raise ValidationError(errors)
    return cleaned


def _link_epics(ctx: ProjectContext, milestone: Milestone, keys: Iterable[str]) -> None:
    wanted = set(keys)
    for epic in ctx.epics.values():
        if epic.key in wanted:
            epic.milestone_id = milestone.id
        elif epic.milestone_id == milestone.id:
            epic.milestone_id = None


def create_milestone(session: Session, ctx: ProjectContext, values: Mapping[str, Any]) -> Milestone:
    """Add a milestone with its baseline date (and the epics that deliver it)."""
    cleaned = _clean_milestone(session, ctx, {"name": "", "baseline": "", **values}, None)
    epics = cleaned.pop("epics", [])
    milestone = Milestone(project_id=ctx.project.id, **cleaned)
    session.add(milestone)
    session.flush()
    _link_epics(ctx, milestone, epics)
    session.flush()
    return milestone


def update_milestone(
    session: Session, ctx: ProjectContext, milestone: Milestone, values: Mapping[str, Any]
) -> None:
    """Change a milestone's name, description, stage, baseline or linked epics."""
    cleaned = _clean_milestone(session, ctx, values, milestone)
    epics = cleaned.pop("epics", None)
    for key, value in cleaned.items():
        setattr(milestone, key, value)
    if epics is not None:
        _link_epics(ctx, milestone, epics)
    session.flush()


def add_forecast(
    session: Session,
    project: Project,
    milestone: Milestone,
    values: Mapping[str, Any],
    *,
    by_id: int | None,
    today: date,
) -> MilestoneForecast:
    """Record a new forecast: the date now expected, reported on a day (today by default), and a
    note saying why. Forecasts are never edited: the trend is their history."""
    errors: dict[str, str] = {}
    reported_on, problem = date_value(
        values.get("reported_on"), required=False, invalid="Enter the report date as YYYY-MM-DD."
    )
    if reported_on is None and problem is None:
        reported_on = today
    if problem:
        errors["reported_on"] = problem
    elif reported_on > today:
        errors["reported_on"] = (
            f"{reported_on} has not come yet: forecasts are reported on a past day or today."
        )
    elif reported_on < project_start(project):
        errors["reported_on"] = (
            f"{reported_on} is before the project existed (it was created on "
            f"{project_start(project)})."
        )
    message = "Enter the date now expected, as YYYY-MM-DD."
    forecast, problem = date_value(values.get("forecast"), empty=message, invalid=message)
    if problem:
        errors["forecast"] = problem
    elif reported_on and "reported_on" not in errors and forecast < reported_on:
        errors["forecast"] = (
            f"A forecast of {forecast} reported on {reported_on} is already past: if it was "
            "reached, mark the milestone achieved instead."
        )
    note, problem = text_value(values.get("note"), "note")
    if problem:
        errors["note"] = "Write the reason as text." if problem == "Enter text." else problem
    if milestone.achieved is not None:
        errors["forecast"] = (
            f"{milestone.name} was achieved on {milestone.achieved}; no forecast is needed."
        )
    if errors:
        raise ValidationError(errors)
    earlier = list(
        session.scalars(
            select(MilestoneForecast)
            .where(MilestoneForecast.milestone_id == milestone.id)
            .order_by(MilestoneForecast.id)
        )
    )
    row = MilestoneForecast(
        milestone_id=milestone.id,
        reported_on=reported_on,
        forecast=forecast,
        note=note,
        by_id=by_id,
    )
    session.add(row)
    session.flush()
    if "forecasts" not in inspect(milestone).unloaded:
        milestone.forecasts.append(row)  # keep a loaded list current for the caller
    old = _state(milestone, earlier, project.slip_tolerance_days)
    new = _state(milestone, [*earlier, row], project.slip_tolerance_days)
    outbox.emit(
        session,
        project,
        "milestone.forecast_changed",
        {
            "milestone": outbox.milestone_data(project, milestone),
            "reported_on": reported_on,
            "note": note,
            "old": outbox.milestone_state_data(old),
            "new": outbox.milestone_state_data(new),
        },
        by=session.get(Account, by_id) if by_id is not None else None,
        now=utcnow(),
    )
    return row


def _state(milestone: Milestone, forecasts: Sequence[MilestoneForecast], tolerance: int):
    points = [ForecastPoint(f.reported_on, f.forecast, f.note) for f in forecasts]
    return milestone_state(milestone.baseline, points, milestone.achieved, tolerance)


def set_achieved(
    session: Session,
    project: Project,
    milestone: Milestone,
    value: Any,
    *,
    today: date,
    by: Account | None = None,
) -> None:
    """Mark a milestone achieved on a date (not in the future), or clear it with an empty value."""
    if value in (None, ""):
        milestone.achieved = None
        session.flush()
        return
    day, problem = date_value(value, invalid="Enter the date it was reached, as YYYY-MM-DD.")
    if problem:
        raise ValidationError({"achieved": problem})
    if day > today:
        raise ValidationError({"achieved": f"{day} is in the future: mark it achieved once it is."})
    if day < project_start(project):
        raise ValidationError(
            {"achieved": f"{day} is before the project existed (created {project_start(project)})."}
        )
    was = milestone.achieved
    milestone.achieved = day
    session.flush()
    if was != day:
        forecasts = session.scalars(
            select(MilestoneForecast)
            .where(MilestoneForecast.milestone_id == milestone.id)
            .order_by(MilestoneForecast.id)
        ).all()
        state = _state(milestone, forecasts, project.slip_tolerance_days)
        outbox.emit(
            session,
            project,
            "milestone.achieved",
            {
                "milestone": outbox.milestone_data(project, milestone),
                "achieved": day,
                "slip_days": state.slip_days,
                "status": state.status,
            },
            by=by,
            now=utcnow(),
        )


# --- forecast suggestions ----------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    epics: list[Epic]
    remaining: int  # points left, unestimated stories counted at the median size
    estimated: int  # points left in estimated stories
    unestimated: int  # open stories without points
    median_size: int | None  # the project's median story size (None: nothing estimated yet)
    stories_left: int
    in_active: int  # points of the remaining work planned in the active sprint
    after_active: int  # points of the remaining work not in it: the pace applies to these
    active: Sprint | None
    velocity: VelocityForecast
    monte_carlo: MonteCarlo
    window: list[str]  # the sprints the average velocity is taken over
    first_sprint: tuple[date, date]  # the first sprint the pace is applied to
    team_forecast: date  # the milestone's current date: the latest report, else the baseline
    gap_days: int  # how far the team's date lies outside the suggestion's P50-P85 (0: inside)

    @property
    def far(self) -> bool:
        """The team's date and the suggestion disagree by more than two sprints: one of them
        misses work (unlinked epics, stories not written yet), so no date is proposed."""
        return self.gap_days > 2 * self.sprint_length

    sprint_length: int = 14


def future_sprints(calendar: Calendar, project: Project, active: Sprint | None, today: date):
    """Return k -> the working days of the k-th sprint the pace applies to (k >= 1): the sprints
    after the active one, or from today when none is active; they last the project's sprint
    length. A sprint with no working day at all counts its last day."""
    first_start = add_days(active.end_date, 1) if active is not None else today
    first_start = max(first_start, today)
    length = project.sprint_length_days

    def days(k: int) -> list[date]:
        start = add_days(first_start, (k - 1) * length)
        end = add_days(start, length - 1)
        return calendar.working_days_between(start, end) or [end]

    return days


def median_story_size(session: Session, project: Project) -> int | None:
    """The median points of the project's estimated stories (the lower middle of an even count,
    so the size is always one of the scale's values); None when nothing is estimated."""
    sizes = sorted(
        session.scalars(
            select(Story.points).where(Story.project_id == project.id, Story.points.is_not(None))
        )
    )
    return statistics.median_low(sizes) if sizes else None


def suggest_forecast(
    session: Session,
    ctx: ProjectContext,
    milestone: Milestone,
    *,
    completed: Sequence[int],
    window: Sequence[str],
    average: float | None,
    calendar: Calendar,
    active: Sprint | None,
    today: date,
) -> Suggestion:
    """Propose a date from the remaining work of the milestone's epics and the team's pace
    (docs/rules.md, "Suggested forecast"): unestimated stories count at the project's median
    story size; work planned in the active sprint is done by its end, the rest starts after it;
    velocity (remaining / average of the last three closed sprints) and a Monte Carlo over the
    completed points of past closed sprints give the dates."""
    epics = [e for e in ctx.epics.values() if e.milestone_id == milestone.id]
    median = median_story_size(session, ctx.project)
    estimated = unestimated = left = in_active = after_active = 0
    if epics:
        rows = session.execute(
            select(Story.points, Story.sprint_id).where(
                Story.epic_id.in_([e.id for e in epics]), Story.status != "done"
            )
        ).all()
        for points, sprint_id in rows:
            left += 1
            estimated += points or 0
            unestimated += points is None
            size = points if points is not None else (median or 0)
            if active is not None and sprint_id == active.id:
                in_active += size
            else:
                after_active += size
    days = future_sprints(calendar, ctx.project, active, today)

    pace = velocity_forecast(after_active, average, days)
    chance = monte_carlo(after_active, completed, days, seed=milestone.id)
    if after_active == 0 and active is not None and in_active:
        # Everything left is planned in the active sprint: its end is the date.
        pace = VelocityForecast(0, average, 0.0, active.end_date)
        chance = MonteCarlo(
            chance.runs, chance.samples, 0, 0, active.end_date, active.end_date, False
        )
    team = state_of(milestone, ctx.project.slip_tolerance_days).current
    gap = 0
    if chance.p50 is not None and chance.p85 is not None:
        gap = max((chance.p50 - team).days, (team - chance.p85).days, 0)
    return Suggestion(
        epics=epics,
        remaining=in_active + after_active,
        estimated=estimated,
        unestimated=unestimated,
        median_size=median,
        stories_left=left,
        in_active=in_active,
        after_active=after_active,
        active=active,
        velocity=pace,
        monte_carlo=chance,
        window=list(window),
        first_sprint=(days(1)[0], days(1)[-1]),
        team_forecast=team,
        gap_days=gap,
        sprint_length=ctx.project.sprint_length_days,
    )


def delete_milestone(session: Session, milestone: Milestone) -> None:
    """Delete a milestone with its forecasts; epics and risks that named it keep going without
    (the database clears their link)."""
    session.flush()
    session.execute(delete(Milestone).where(Milestone.id == milestone.id))
    session.expire_all()
