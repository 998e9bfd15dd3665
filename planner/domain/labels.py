"""Labels: simple tags on a project's stories ("gdpr", "needs-data"), created on first use.

Labels are not tracked fields: changing them writes no history event and moves no chart.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from planner.domain import ValidationError
from planner.inputs import text_problem
from planner.models import Label, Story, story_label

LABEL_MAX = 60
LABELS_PER_STORY = 20


def parse_labels(text: str | None) -> list[str]:
    """Labels from "gdpr, needs-data": trimmed, spaces collapsed, each once, in order; raise
    ValidationError saying which one cannot be a label."""
    names: list[str] = []
    for part in (text or "").split(","):
        name = " ".join(part.split())
        if not name:
            continue
        if problem := text_problem(name, multiline=False, max_len=LABEL_MAX):
            raise ValidationError({"labels": f"“{name[:30]}”: {problem}"})
        if name not in names:
            names.append(name)
    if len(names) > LABELS_PER_STORY:
        raise ValidationError(
            {"labels": f"{len(names)} labels; a story has at most {LABELS_PER_STORY}."}
        )
    return names


def labels_of(session: Session, story: Story) -> list[str]:
    return list(
        session.scalars(
            select(Label.name)
            .join(story_label, story_label.c.label_id == Label.id)
            .where(story_label.c.story_id == story.id)
            .order_by(Label.name)
        )
    )


def set_labels(session: Session, story: Story, names: Iterable[str]) -> None:
    """Give the story exactly these labels, creating the project's missing ones."""
    names = list(dict.fromkeys(names))
    known = dict(
        session.execute(
            select(Label.name, Label.id).where(
                Label.project_id == story.project_id, Label.name.in_(names)
            )
        ).all()
    )
    for name in names:
        if name not in known:
            label = Label(project_id=story.project_id, name=name)
            session.add(label)
            session.flush()
            known[name] = label.id
    session.execute(delete(story_label).where(story_label.c.story_id == story.id))
    if names:
        session.execute(
            insert(story_label), [{"story_id": story.id, "label_id": known[n]} for n in names]
        )
    session.expire(story, ["labels"])
