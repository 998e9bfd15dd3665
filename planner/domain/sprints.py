"""Sprints: create with sensible defaults, edit while planned, start (one active at a time),
close with carry-over, and the capacity each member plans for one."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from planner.domain import (
    DomainError,
    ValidationError,
    date_value,
    outbox,
    parse_id,
    required_text,
    take_texts,
    to_date,
)
from planner.domain.context import ProjectContext, lock_project
from planner.domain.history import load_series
from planner.domain.stories import top_rank, update_story
from planner.inputs import SPRINT_MAX_DAYS
from planner.metrics import Calendar, SprintSeries, default_capacity, summarize
from planner.models import Account, Project, Sprint, SprintCapacity, Story
from planner.timeutil import add_days, local_date

NAME_MAX = 80
CAPACITY_MAX = 200
_TRAILING_NUMBER = re.compile(r"^(.*?)(\d+)\s*$")


@dataclass(frozen=True)
class SprintDraft:
    name: str
    start: date
    end: date


def project_sprints(session: Session, project: Project) -> list[Sprint]:
    """Return the project's sprints by start date."""
    return list(
        session.scalars(
            select(Sprint)
            .where(Sprint.project_id == project.id)
            .order_by(Sprint.start_date, Sprint.id)
        )
    )


def choose_sprint(
    sprints: Iterable[Sprint], requested: object, prefer: Sequence[str]
) -> Sprint | None:
    """The requested sprint (an id), else the first sprint in the first state of `prefer` that has
    one ("closed" picks the latest closed), else the latest sprint."""
    by_id = {s.id: s for s in sprints}
    wanted = parse_id(requested)
    if wanted in by_id:
        return by_id[wanted]
    ordered = sorted(by_id.values(), key=lambda s: (s.start_date, s.id))
    for state in prefer:
        found = [s for s in ordered if s.state == state]
        if found:
            return found[-1] if state == "closed" else found[0]
    return ordered[-1] if ordered else None


def end_for(calendar: Calendar, start: date, length_days: int) -> date:
    """Return the last working day within `length_days` calendar days from `start` (a 14-day
    sprint starting on a Monday ends on the Friday of the following week)."""
    last = add_days(start, max(length_days, 1) - 1)
    day = last
    while day > start and not calendar.is_working(day):
        day = add_days(day, -1)
    return day


def suggest_sprint(
    project: Project, sprints: list[Sprint], calendar: Calendar, today: date
) -> SprintDraft:
    """Propose the next sprint: numbered after the latest, starting on the next working day after
    it ends (or today when there is none), lasting the project's sprint length."""
    latest = max(sprints, key=lambda s: (s.end_date, s.id), default=None)
    if latest is None:
        start = today if calendar.is_working(today) else calendar.next_working_day(today)
        name = "Sprint 1"
    else:
        start = calendar.next_working_day(latest.end_date)
        match = _TRAILING_NUMBER.match(latest.name)
        name = (
            f"{match.group(1)}{int(match.group(2)) + 1}" if match else f"Sprint {len(sprints) + 1}"
        )
        taken = {s.name for s in sprints}
        while name in taken:
            name = f"{name}+"
    return SprintDraft(name, start, end_for(calendar, start, project.sprint_length_days))


def _check(
    session: Session, project: Project, values: Mapping[str, Any], sprint: Sprint | None
) -> dict[str, Any]:
    """Validate sprint values; return the cleaned ones or raise ValidationError per field."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    if "name" in values:
        name, problem = required_text(
            values["name"], max_len=NAME_MAX, empty="Enter a name, like Sprint 5."
        )
        if problem:
            errors["name"] = problem
        else:
            cleaned["name"] = name
    take_texts(values, {"goal": "goal"}, cleaned, errors)
    if errors.get("goal") == "Enter text.":
        errors["goal"] = "Enter the goal as text."
    for field in ("start", "end"):
        if field in values:
            day, problem = date_value(values[field])
            if problem:
                errors[field] = problem
            else:
                cleaned[field] = day
    start = cleaned.get("start", sprint.start_date if sprint else None)
    end = cleaned.get("end", sprint.end_date if sprint else None)
    if start and end and "start" not in errors and "end" not in errors:
        if end < start:
            errors["end"] = f"The sprint ends ({end}) before it starts ({start})."
        elif (end - start).days + 1 > SPRINT_MAX_DAYS:
            errors["end"] = (
                f"{start} to {end} is {(end - start).days + 1} days; a sprint lasts at most "
                f"{SPRINT_MAX_DAYS} days ({SPRINT_MAX_DAYS // 7} weeks)."
            )
        else:
            for other in project_sprints(session, project):
                if sprint is not None and other.id == sprint.id:
                    continue
                if start <= other.end_date and other.start_date <= end:
                    errors["start"] = (
                        f"{start} to {end} overlaps {other.name} "
                        f"({other.start_date} to {other.end_date})."
                    )
                    break
    if "name" in cleaned:
        clash = session.scalar(
            select(Sprint.id).where(
                Sprint.project_id == project.id,
                Sprint.name == cleaned["name"],
                Sprint.id != (sprint.id if sprint else -1),
            )
        )
        if clash is not None:
            errors["name"] = f"{project.key} already has a sprint called {cleaned['name']}."
    if errors:
        raise ValidationError(errors)
    return cleaned


def create_sprint(session: Session, project: Project, values: Mapping[str, Any]) -> Sprint:
    """Add a planned sprint with a name, goal, start and end dates."""
    values = {"name": "", "start": None, "end": None, **values}
    cleaned = _check(session, project, values, None)
    sprint = Sprint(
        project_id=project.id,
        name=cleaned["name"],
        goal=cleaned.get("goal"),
        start_date=cleaned["start"],
        end_date=cleaned["end"],
        state="planned",
    )
    session.add(sprint)
    session.flush()
    return sprint


def update_sprint(
    session: Session, project: Project, sprint: Sprint, values: Mapping[str, Any]
) -> None:
    """Rename a sprint or change its goal at any time; its dates only while it is planned."""
    if sprint.state != "planned" and any(
        k in values and to_date(values[k]) != getattr(sprint, f"{k}_date") for k in ("start", "end")
    ):
        raise ValidationError(
            {"start": f"{sprint.name} is {sprint.state}; its dates can change only while planned."}
        )
    cleaned = _check(session, project, values, sprint)
    for key, value in cleaned.items():
        setattr(sprint, {"start": "start_date", "end": "end_date"}.get(key, key), value)
    session.flush()


def active_sprint(session: Session, project: Project) -> Sprint | None:
    return session.scalar(
        select(Sprint).where(Sprint.project_id == project.id, Sprint.state == "active")
    )


def start_dates(calendar: Calendar, sprint: Sprint, today: date) -> tuple[date, date]:
    """The dates proposed when a sprint starts (docs/rules.md, "Starting a sprint"): it starts
    today; it keeps its end when it was planned to start today, else it keeps its planned length
    from today, ending on the last working day within it."""
    if sprint.start_date == today:
        return today, sprint.end_date
    length = (sprint.end_date - sprint.start_date).days + 1
    return today, end_for(calendar, today, length)


def start_sprint(
    session: Session,
    project: Project,
    sprint: Sprint,
    *,
    now: datetime,
    by: Account | None = None,
    dates: Mapping[str, Any] | None = None,
) -> None:
    """Start a planned sprint: what it holds now is its commitment. One active sprint at a time.
    With `dates` ({"start", "end"}, as confirmed by the person starting it), the sprint takes
    them first: it cannot start after today, and the usual date checks apply."""
    if sprint.state != "planned":
        raise DomainError(f"{sprint.name} is {sprint.state}; only a planned sprint can start.")
    running = active_sprint(session, project)
    if running is not None:
        raise DomainError(
            f"{running.name} is still active. Close it before starting {sprint.name}: a project "
            "runs one sprint at a time."
        )
    if dates is not None:
        cleaned = _check(
            session,
            project,
            {"start": dates.get("start") or "", "end": dates.get("end") or ""},
            sprint,
        )
        today = local_date(now, project.timezone)
        if cleaned["start"] > today:
            raise ValidationError(
                {
                    "start": f"{cleaned['start']} has not come yet: a sprint starts today "
                    f"({today}) or earlier. Start it on that day, or keep it planned."
                }
            )
        if cleaned["end"] < today:
            raise ValidationError(
                {"end": f"{cleaned['end']} is already past: the sprint would end before today."}
            )
        sprint.start_date, sprint.end_date = cleaned["start"], cleaned["end"]
    sprint.state = "active"
    sprint.started_at = now
    try:
        session.flush()
    except IntegrityError:  # another request started a sprint in between
        raise DomainError("Another sprint was started at the same moment; reload.") from None
    outbox.emit(
        session,
        project,
        "sprint.started",
        {"sprint": outbox.sprint_data(project, sprint)},
        by=by,
        now=now,
    )


@dataclass(frozen=True)
class CloseResult:
    next_sprint: Sprint | None
    to_next: list[Story]
    to_backlog: list[Story]


def close_problem(sprint: Sprint) -> str | None:
    """Why `sprint` cannot be closed now (only the active sprint closes), or None."""
    if sprint.state != "active":
        return f"{sprint.name} is {sprint.state}; only the active sprint can close."
    return None


def close_sprint(
    session: Session,
    ctx: ProjectContext,
    sprint: Sprint,
    decisions: Mapping[int, str],
    *,
    calendar: Calendar,
    by: Account | None,
    now: datetime,
) -> CloseResult:
    """Close an active sprint. Each unfinished story goes to the next sprint ("next", the default)
    or back to the top of the backlog ("backlog"), moved at the closing moment, so the closed
    sprint's chart does not change. With no planned sprint to take them, one is created."""
    if problem := close_problem(sprint):
        raise DomainError(problem)
    unknown = [d for d in decisions.values() if d not in ("next", "backlog")]
    if unknown:
        raise ValidationError(
            {"decisions": f"Send each story to 'next' or 'backlog', not {unknown[0]!r}."}
        )
    unfinished = list(
        session.scalars(
            select(Story)
            .where(Story.sprint_id == sprint.id, Story.status != "done")
            .order_by(Story.rank, Story.id)
        )
    )
    strangers = set(decisions) - {s.id for s in unfinished}
    if strangers:
        raise ValidationError(
            {"decisions": "Some stories are not unfinished stories of this sprint."}
        )
    to_next = [s for s in unfinished if decisions.get(s.id, "next") == "next"]
    to_backlog = [s for s in unfinished if decisions.get(s.id, "next") == "backlog"]

    sprint.state = "closed"
    sprint.closed_at = now
    session.flush()

    next_sprint = None
    if to_next:
        sprints = project_sprints(session, ctx.project)
        planned = [s for s in sprints if s.state == "planned" and s.id != sprint.id]
        next_sprint = min(planned, key=lambda s: (s.start_date, s.id), default=None)
        if next_sprint is None:
            draft = suggest_sprint(
                ctx.project, sprints, calendar, local_date(now, calendar.timezone)
            )
            next_sprint = create_sprint(
                session, ctx.project, {"name": draft.name, "start": draft.start, "end": draft.end}
            )
        ctx.sprints[next_sprint.id] = next_sprint
    for story in to_next:
        update_story(session, ctx, story, {"sprint": next_sprint.id}, by=by, now=now)
    for story in reversed(to_backlog):  # keep their order at the top of the backlog
        update_story(session, ctx, story, {"sprint": None}, by=by, now=now)
        story.rank = top_rank(session, ctx.project)
    session.flush()
    summary = summarize(
        load_series(session, ctx.project, [sprint], now=now, calendar=calendar)[sprint.id]
    )
    outbox.emit(
        session,
        ctx.project,
        "sprint.closed",
        {
            "sprint": outbox.sprint_data(ctx.project, sprint),
            "committed_points": summary.committed_points,
            "completed_points": summary.completed_points,
            "carried_points": summary.carried_points,
            "to_next": [s.key_in(ctx.project.key) for s in to_next],
            "to_backlog": [s.key_in(ctx.project.key) for s in to_backlog],
            "next_sprint": None
            if next_sprint is None
            else {"id": next_sprint.id, "name": next_sprint.name},
        },
        by=by,
        now=now,
    )
    return CloseResult(next_sprint, to_next, to_backlog)


@dataclass(frozen=True)
class CapacityPlan:
    """A sprint's capacity: saved rows, or suggestions from history when none are saved."""

    saved: dict[int, int]
    defaults: dict[int, float]  # average completed points over recent closed sprints
    effective: dict[int, int]  # what the plan is checked against

    @property
    def suggested(self) -> bool:
        return not self.saved


def capacity_plan(
    session: Session, ctx: ProjectContext, sprint: Sprint, closed: Sequence[SprintSeries]
) -> CapacityPlan:
    """Return the sprint's saved capacity, the history-based defaults, and the capacity to check
    the plan against (saved when any is saved, else the rounded defaults)."""
    closed_ids = [s.sprint.id for s in closed]
    planned: dict[int, dict[int, int]] = {}
    if closed_ids:
        for row in session.scalars(
            select(SprintCapacity).where(SprintCapacity.sprint_id.in_(closed_ids))
        ):
            planned.setdefault(row.sprint_id, {})[row.account_id] = row.points
    defaults = default_capacity(list(closed), planned)
    saved = capacities(session, sprint)
    takers = {m.account_id for m in ctx.members.values() if m.access != "view"}
    effective = saved or {
        member: round(points) for member, points in defaults.items() if member in takers
    }
    return CapacityPlan(saved, defaults, effective)


def capacities(session: Session, sprint: Sprint) -> dict[int, int]:
    """Return the planned capacity of the sprint: {account id: points}."""
    return dict(
        session.execute(
            select(SprintCapacity.account_id, SprintCapacity.points).where(
                SprintCapacity.sprint_id == sprint.id
            )
        ).all()
    )


def set_capacity(
    session: Session, ctx: ProjectContext, sprint: Sprint, points: Mapping[int, Any]
) -> None:
    """Replace the sprint's planned capacity with {account id: points} (empty = no capacity)."""
    if sprint.state == "closed":
        raise DomainError(f"{sprint.name} is closed; its capacity is history now.")
    errors: dict[str, str] = {}
    cleaned: dict[int, int] = {}
    for account_id, raw in points.items():
        member = ctx.members.get(account_id)
        field = f"capacity-{account_id}"
        if member is None or member.access == "view":
            errors[field] = "Only members who take work (edit or manage access) have capacity."
            continue
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        try:
            value = int(str(raw).strip())
        except ValueError:
            value = -1
        if isinstance(raw, bool) or not 0 <= value <= CAPACITY_MAX:
            errors[field] = f"{member.account.name}: enter whole points from 0 to {CAPACITY_MAX}."
            continue
        cleaned[account_id] = value
    if errors:
        raise ValidationError(errors)
    # Two saves of the same plan at once (a double click) must not both insert a row.
    lock_project(session, ctx.project)
    existing = {
        row.account_id: row
        for row in session.scalars(
            select(SprintCapacity).where(SprintCapacity.sprint_id == sprint.id)
        )
    }
    for account_id, row in existing.items():
        if account_id not in cleaned:
            session.delete(row)
    for account_id, value in cleaned.items():
        if account_id in existing:
            existing[account_id].points = value
        else:
            session.add(SprintCapacity(sprint_id=sprint.id, account_id=account_id, points=value))
    session.flush()
