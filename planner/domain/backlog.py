"""The backlog: order (rank) and moving stories into sprints, one by one or several at once.

Order is kept within a section (a sprint's stories, or the backlog proper): moving a story up
puts it above its neighbour in the same section. Ranks leave gaps so a move usually rewrites one
row; when a gap runs out the section is renumbered. Rank is not history: it writes no events.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.domain import DomainError, ValidationError
from planner.domain.context import ProjectContext
from planner.domain.stories import RANK_STEP, update_story
from planner.models import Account, Story

ACTIONS = ("top", "up", "down", "bottom")


def section_of(session: Session, story: Story) -> list[Story]:
    """Return the stories sharing the story's section (its sprint, or the backlog), in order."""
    query = select(Story).where(Story.project_id == story.project_id)
    if story.sprint_id is None:
        query = query.where(Story.sprint_id.is_(None))
    else:
        query = query.where(Story.sprint_id == story.sprint_id)
    return list(session.scalars(query.order_by(Story.rank, Story.id)))


def place(
    session: Session, story: Story, *, action: str | None = None, before: Story | None = None
) -> None:
    """Move a story within its section: to the top, up, down, to the bottom, or just above
    `before` (a story of the same section)."""
    section = section_of(session, story)
    ids = [s.id for s in section]
    index = ids.index(story.id)
    others = [s for s in section if s.id != story.id]
    if before is not None:
        if before.id == story.id:
            return
        if before.id not in ids:
            raise ValidationError({"before": "That story is in another section."})
        target = [s.id for s in others].index(before.id)
    elif action == "top":
        target = 0
    elif action == "up":
        target = max(index - 1, 0)
    elif action == "down":
        target = min(index + 1, len(others))
    elif action == "bottom":
        target = len(others)
    else:
        raise ValidationError({"action": f"Choose one of {', '.join(ACTIONS)}."})
    order = [*others[:target], story, *others[target:]]
    _set_rank(order, target)
    session.flush()


def _set_rank(order: list[Story], index: int) -> None:
    """Give order[index] a rank between its neighbours, renumbering when there is no room."""
    above = order[index - 1].rank if index > 0 else None
    below = order[index + 1].rank if index + 1 < len(order) else None
    if above is None and below is None:
        return
    if above is None:
        order[index].rank = below - RANK_STEP
    elif below is None:
        order[index].rank = above + RANK_STEP
    elif below - above >= 2:
        order[index].rank = (above + below) // 2
    else:
        start = order[0].rank  # index > 0 here, so order[0] is a neighbour keeping its rank
        for offset, item in enumerate(order):
            if item.rank != start + offset * RANK_STEP:
                item.rank = start + offset * RANK_STEP


def move_to_sprint(
    session: Session,
    ctx: ProjectContext,
    stories: Iterable[Story],
    sprint_id: int | None,
    *,
    by: Account | None,
    now: datetime,
) -> int:
    """Put several stories into a sprint (or back in the backlog with None); return how many moved.
    Each move is a recorded change of the story's sprint."""
    stories = list(stories)
    if any(s.project_id != ctx.project.id for s in stories):
        raise DomainError("Some of those stories belong to another project.")
    if sprint_id is not None:
        sprint = ctx.sprints.get(sprint_id)
        if sprint is None:
            raise ValidationError({"sprint": f"{ctx.project.key} has no sprint {sprint_id}."})
        if sprint.state == "closed":
            raise ValidationError(
                {"sprint": f"{sprint.name} is closed; pick a planned or active sprint."}
            )
    moved = 0
    for story in stories:
        if story.sprint_id != sprint_id:
            update_story(session, ctx, story, {"sprint": sprint_id}, by=by, now=now)
            moved += 1
    return moved


def stories_by_keys(session: Session, ctx: ProjectContext, numbers: Iterable[int]) -> list[Story]:
    """Return this project's stories with these numbers; raise if any is not one of them."""
    numbers = sorted(set(numbers))
    found = list(
        session.scalars(
            select(Story).where(Story.project_id == ctx.project.id, Story.number.in_(numbers))
        )
    )
    if len(found) != len(numbers):
        missing = sorted(set(numbers) - {s.number for s in found})
        raise ValidationError(
            {
                "stories": f"{ctx.project.key} has no stor{'y' if len(missing) == 1 else 'ies'} "
                f"{', '.join(f'{ctx.project.key}-{n}' for n in missing)}."
            }
        )
    return sorted(found, key=lambda s: (s.rank, s.id))
