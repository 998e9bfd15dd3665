"""A story's checklist: short lines ticked off one by one ("hold-out set frozen", "PR-AUC on
the March data"), shown on the story page and as "2/5" on its board card.

Ticking an item is not a tracked change of the story: it writes no history event, moves no chart
and leaves the story's version alone, so nobody's open edit of the story goes stale because of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from planner.domain import ValidationError, required_text
from planner.models import ChecklistItem, Story

ITEM_MAX = 200
ITEMS_PER_STORY = 50


@dataclass(frozen=True)
class Progress:
    done: int
    total: int

    @property
    def label(self) -> str:
        return f"{self.done}/{self.total}"

    def as_json(self) -> dict[str, int]:
        return {"done": self.done, "total": self.total}


def item_text(value: object) -> str:
    """The trimmed text of an item, or raise ValidationError saying what is wrong with it."""
    text, problem = required_text(
        value, max_len=ITEM_MAX, empty="write its text first (1 to 200 characters)."
    )
    if problem:
        raise ValidationError({"text": f"Checklist item: {problem[0].lower()}{problem[1:]}"})
    return text


def checklist_of(session: Session, story: Story) -> list[ChecklistItem]:
    """The story's items in their order."""
    return list(
        session.scalars(
            select(ChecklistItem)
            .where(ChecklistItem.story_id == story.id)
            .order_by(ChecklistItem.position, ChecklistItem.id)
        )
    )


def add_item(session: Session, story: Story, text: object) -> ChecklistItem:
    """Add an item at the end of the story's checklist (at most ITEMS_PER_STORY)."""
    clean = item_text(text)
    count, last = session.execute(
        select(func.count(), func.max(ChecklistItem.position)).where(
            ChecklistItem.story_id == story.id
        )
    ).one()
    if count >= ITEMS_PER_STORY:
        raise ValidationError(
            {"text": f"A checklist holds at most {ITEMS_PER_STORY} items; this one is full."}
        )
    item = ChecklistItem(story_id=story.id, position=(last or 0) + 1, text=clean, done=False)
    session.add(item)
    session.flush()
    return item


def set_done(session: Session, item: ChecklistItem, done: bool) -> ChecklistItem:
    """Tick or untick an item."""
    item.done = bool(done)
    session.flush()
    return item


def rename_item(session: Session, item: ChecklistItem, text: object) -> ChecklistItem:
    """Change an item's text."""
    item.text = item_text(text)
    session.flush()
    return item


def delete_item(session: Session, item: ChecklistItem) -> None:
    session.delete(item)
    session.flush()


def move_item(session: Session, story: Story, item: ChecklistItem, direction: str) -> None:
    """Move an item one place up or down ("up" / "down"); at either end it stays put."""
    if direction not in ("up", "down"):
        raise ValidationError({"direction": "Move an item up or down."})
    items = checklist_of(session, story)
    where = next(i for i, each in enumerate(items) if each.id == item.id)
    other = where - 1 if direction == "up" else where + 1
    if not 0 <= other < len(items):
        return
    items[where], items[other] = items[other], items[where]
    for position, each in enumerate(items, start=1):  # also mends equal positions
        each.position = position
    session.flush()


def progress_of(session: Session, story_ids: Sequence[int]) -> dict[int, Progress]:
    """Done and total items per story, for many stories in one query (stories without a
    checklist are left out)."""
    if not story_ids:
        return {}
    rows = session.execute(
        select(
            ChecklistItem.story_id,
            func.count(),
            func.sum(case((ChecklistItem.done.is_(True), 1), else_=0)),
        )
        .where(ChecklistItem.story_id.in_(list(story_ids)))
        .group_by(ChecklistItem.story_id)
    ).all()
    return {story_id: Progress(int(done or 0), int(total)) for story_id, total, done in rows}
