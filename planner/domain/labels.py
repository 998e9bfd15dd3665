"""Labels: simple tags on a project's stories ("gdpr", "needs-data"), created on first use,
with an optional colour; renamed, recoloured and deleted on the project's labels page.

Labels are not tracked fields: changing them writes no history event and moves no chart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from planner.domain import ValidationError
from planner.inputs import text_problem
from planner.models import Label, Project, Story, story_label

LABEL_MAX = 60
LABELS_PER_STORY = 20
# Chip colours that carry dark or white text at WCAG AA contrast (4.5:1), on light and dark pages.
PALETTE: dict[str, str] = {
    "#c62828": "Red",
    "#b45309": "Orange",
    "#f2c94c": "Yellow",
    "#2e7d32": "Green",
    "#00796b": "Teal",
    "#1565c0": "Blue",
    "#4527a0": "Indigo",
    "#8e24aa": "Purple",
    "#ad1457": "Pink",
    "#546e7a": "Grey",
}
_HEX = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


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


# --- the labels page --------------------------------------------------------------------------


def parse_colour(text: str | None) -> str | None:
    """A colour as stored: "#rrggbb" in lower case from "#RRGGBB", "rrggbb" or "#rgb"; None for
    an empty value (the neutral colour); raise ValidationError for anything else."""
    value = (text or "").strip()
    if not value:
        return None
    found = _HEX.fullmatch(value)
    if not found:
        raise ValidationError(
            {"colour": f"{value[:20]!r} is not a colour; write it as #rrggbb, like #1565c0."}
        )
    digits = found.group(1).lower()
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return "#" + digits


def text_colour(colour: str) -> str:
    """The text colour for a chip of `colour` ("#rrggbb"): near-black or white, whichever
    contrasts more (WCAG relative luminance)."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    dark = 0.0103  # luminance of #1a1a1a
    on_dark = (luminance + 0.05) / (dark + 0.05)
    on_white = 1.05 / (luminance + 0.05)
    return "#1a1a1a" if on_dark >= on_white else "#ffffff"


def project_labels(session: Session, project: Project) -> list[Label]:
    """The project's labels, A to Z."""
    return list(
        session.scalars(
            select(Label)
            .where(Label.project_id == project.id)
            .order_by(func.lower(Label.name), Label.id)
        )
    )


def label_counts(session: Session, project: Project) -> dict[int, int]:
    """How many stories carry each of the project's labels (labels on none are left out)."""
    return dict(
        session.execute(
            select(story_label.c.label_id, func.count(story_label.c.story_id))
            .join(Label, Label.id == story_label.c.label_id)
            .where(Label.project_id == project.id)
            .group_by(story_label.c.label_id)
        ).all()
    )


def label_by_id(session: Session, project: Project, label_id: int) -> Label | None:
    return session.scalar(select(Label).where(Label.id == label_id, Label.project_id == project.id))


def rename_label(session: Session, label: Label, text: str | None) -> Label:
    """Rename a label on every story carrying it; refuse a name another label has."""
    names = parse_labels(text)
    if len(names) != 1:
        raise ValidationError({"name": "Write one label name (no commas)."})
    (name,) = names
    clash = session.scalar(
        select(Label.id).where(
            Label.project_id == label.project_id, Label.name == name, Label.id != label.id
        )
    )
    if clash is not None:
        raise ValidationError({"name": f"There is already a label “{name}”."})
    label.name = name
    session.flush()
    return label


def set_colour(session: Session, label: Label, text: str | None) -> Label:
    label.colour = parse_colour(text)
    session.flush()
    return label


def delete_label(session: Session, label: Label) -> None:
    """Delete the label; the stories carrying it lose it and are otherwise unchanged."""
    session.execute(delete(story_label).where(story_label.c.label_id == label.id))
    session.delete(label)
    session.flush()


def label_stylesheet(labels: Iterable[Label]) -> str:
    """CSS giving each coloured label's chips its colour (the page's policy forbids inline
    styles): `.lc-<id>` sets the chip's background and a readable text colour."""
    rules = [
        f".chip.label.lc-{label.id} {{ --label-bg: {label.colour}; "
        f"--label-fg: {text_colour(label.colour)}; }}"
        for label in labels
        if label.colour and _HEX.fullmatch(label.colour)
    ]
    return "\n".join(rules) + "\n"
