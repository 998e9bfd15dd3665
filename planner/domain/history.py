"""Load what the metrics need from the database: a project's calendar, its sprints, and every story
ever in them with its whole history, in a fixed number of queries whatever the project's size."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from planner.metrics import Calendar, Change, SprintInfo, SprintSeries, StoryInfo, sweep
from planner.models import Holiday, Project, Sprint, Stage, Story, StoryEvent

_INT_FIELDS = ("points", "sprint", "assignee")


def calendar_of(session: Session, project: Project) -> Calendar:
    """Return the project's calendar (timezone, working weekdays, holidays)."""
    holidays = session.scalars(select(Holiday.day).where(Holiday.project_id == project.id))
    return Calendar(project.timezone, frozenset(project.working_weekdays), frozenset(holidays))


def sprint_info(sprint: Sprint) -> SprintInfo:
    return SprintInfo(
        id=sprint.id,
        name=sprint.name,
        start=sprint.start_date,
        end=sprint.end_date,
        state=sprint.state,
        started_at=sprint.started_at,
        closed_at=sprint.closed_at,
        goal=sprint.goal,
    )


def _decode(field: str, value: str | None):
    if value is None:
        return None
    return int(value) if field in _INT_FIELDS else value


def sweep_stories(story_ids):
    """The statement reading what the sweep needs of the stories `story_ids` (a subquery of ids):
    ten columns with the stage's key, not Story entities, since a chart needs none of a story's
    texts (tests/benchmarks/series_stories.py: 0.56-0.74 of the time for the demo's 47 stories,
    0.19-0.33 for 1,000, over three runs)."""
    return (
        select(
            Story.id,
            Story.number,
            Story.created_at,
            Story.status,
            Story.points,
            Story.sprint_id,
            Stage.key.label("stage_key"),
            Story.role,
            Story.assignee_id,
            Story.title,
        )
        .outerjoin(Stage, Stage.id == Story.stage_id)
        .where(Story.id.in_(story_ids))
    )


def load_series(
    session: Session,
    project: Project,
    sprints: Sequence[Sprint],
    *,
    now: datetime,
    calendar: Calendar | None = None,
) -> dict[int, SprintSeries]:
    """Return the series of each sprint in `sprints`, computed from the recorded history."""
    calendar = calendar or calendar_of(session, project)
    if not sprints:
        return {}
    ids = [s.id for s in sprints]
    texts = [str(i) for i in ids]
    moved_through = select(StoryEvent.story_id).where(
        StoryEvent.field == "sprint",
        or_(StoryEvent.from_value.in_(texts), StoryEvent.to_value.in_(texts)),
    )
    involved = (
        select(Story.id)
        .where(Story.project_id == project.id)
        .where(or_(Story.sprint_id.in_(ids), Story.id.in_(moved_through)))
    )
    rows = session.execute(sweep_stories(involved)).all()
    stories = [
        StoryInfo(
            id=row.id,
            key=f"{project.key}-{row.number}",
            created_at=row.created_at,
            status=row.status,
            points=row.points,
            sprint=row.sprint_id,
            stage=row.stage_key,
            role=row.role,
            assignee=row.assignee_id,
            title=row.title,
        )
        for row in rows
    ]
    events = session.execute(
        select(
            StoryEvent.story_id,
            StoryEvent.at,
            StoryEvent.field,
            StoryEvent.from_value,
            StoryEvent.to_value,
        )
        .where(StoryEvent.story_id.in_(involved))
        .order_by(StoryEvent.at, StoryEvent.id)
    )
    changes = [
        Change(story_id, at, field, _decode(field, old), _decode(field, new))
        for story_id, at, field, old, new in events
    ]
    return sweep(calendar, [sprint_info(s) for s in sprints], stories, changes, now=now)
