"""Epics: create, edit, archive, delete (only without stories), and their progress (points and
stories done of total)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from planner.domain import DomainError, ValidationError, parse_id, required_text, take_texts
from planner.domain.context import ProjectContext, next_counter, stage_ref
from planner.inputs import TEXT_LIMITS
from planner.models import Epic, Milestone, Project, Story

TITLE_MAX = TEXT_LIMITS["title"]


@dataclass(frozen=True)
class Progress:
    points_done: int = 0
    points_total: int = 0
    stories_done: int = 0
    stories_total: int = 0
    unestimated: int = 0

    @property
    def percent(self) -> int:
        """Share of points done (of stories when nothing is estimated), 0-100."""
        if self.points_total:
            return round(100 * self.points_done / self.points_total)
        if self.stories_total:
            return round(100 * self.stories_done / self.stories_total)
        return 0


def progress_by_epic(session: Session, project: Project) -> dict[int, Progress]:
    """Return each epic's progress, from the stories' current status, in one query."""
    done = Story.status == "done"
    rows = session.execute(
        select(
            Story.epic_id,
            func.coalesce(func.sum(case((done, Story.points), else_=0)), 0),
            func.coalesce(func.sum(Story.points), 0),
            func.sum(case((done, 1), else_=0)),
            func.count(Story.id),
            func.sum(case((Story.points.is_(None), 1), else_=0)),
        )
        .where(Story.project_id == project.id, Story.epic_id.is_not(None))
        .group_by(Story.epic_id)
    )
    return {
        epic_id: Progress(int(pd), int(pt), int(sd or 0), int(st), int(un or 0))
        for epic_id, pd, pt, sd, st, un in rows
    }


def milestones_of(session: Session, project: Project) -> list[Milestone]:
    return list(
        session.scalars(
            select(Milestone).where(Milestone.project_id == project.id).order_by(Milestone.baseline)
        )
    )


def _clean(session: Session, ctx: ProjectContext, values: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    if "title" in values:
        title, problem = required_text(values["title"], max_len=TITLE_MAX, empty="Enter a title.")
        if problem:
            errors["title"] = problem
        else:
            cleaned["title"] = title
    take_texts(values, {"description": "description"}, cleaned, errors)
    if "stage" in values:
        cleaned["stage_id"], problem = stage_ref(ctx, values["stage"])
        if problem:
            errors["stage"] = problem
    if "milestone" in values:
        raw = values["milestone"] or None
        if raw is None:
            cleaned["milestone_id"] = None
        else:
            milestone = None
            if parse_id(raw) is not None:
                milestone = session.scalar(
                    select(Milestone).where(
                        Milestone.id == parse_id(raw), Milestone.project_id == ctx.project.id
                    )
                )
            if milestone is None:
                errors["milestone"] = f"{ctx.project.key} has no such milestone."
            else:
                cleaned["milestone_id"] = milestone.id
    if errors:
        raise ValidationError(errors)
    return cleaned


def create_epic(session: Session, ctx: ProjectContext, values: Mapping[str, Any]) -> Epic:
    """Add an epic with the next key (E1, E2, ...)."""
    cleaned = _clean(session, ctx, {"title": "", **values})
    number = next_counter(session, ctx.project, "epic_counter")
    epic = Epic(project_id=ctx.project.id, key=f"E{number}", **cleaned)
    session.add(epic)
    session.flush()
    ctx.epics[epic.key] = epic
    return epic


def update_epic(
    session: Session, ctx: ProjectContext, epic: Epic, values: Mapping[str, Any]
) -> None:
    """Change an epic's title, description, stage or milestone."""
    for key, value in _clean(session, ctx, values).items():
        setattr(epic, key, value)
    session.flush()


def set_epic_archived(session: Session, epic: Epic, archived: bool) -> None:
    """Archive an epic (it leaves pickers; its stories keep it) or bring it back."""
    epic.archived = archived
    session.flush()


def delete_epic(session: Session, epic: Epic) -> None:
    """Delete an epic no story belongs to; one with stories is archived instead, so that its
    stories and reports keep their epic."""
    used = session.scalar(select(func.count(Story.id)).where(Story.epic_id == epic.id))
    if used:
        raise DomainError(
            f"{epic.key} has {used} stor{'y' if used == 1 else 'ies'}; archive it instead, so they "
            "keep their epic."
        )
    session.delete(epic)
    session.flush()
