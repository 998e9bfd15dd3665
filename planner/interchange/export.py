"""Export a project as an interchange document (docs/export-format.md), in a bounded number of
queries whatever the project's size.

`export_text` writes the document as it goes: the stories, their history, comments and labels (most
of a big project) are read through streaming cursors, each ordered by story number, merged story by
story, and each story is encoded as soon as it is complete, so memory does not grow with the number
of stories or events. `export_project` returns the same document as one dict.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from planner.interchange import FORMAT, VERSION
from planner.models import (
    Account,
    Comment,
    Epic,
    Holiday,
    Label,
    Membership,
    Milestone,
    Project,
    Risk,
    Sprint,
    Stage,
    Story,
    StoryEvent,
    risk_story,
    story_label,
)
from planner.timeutil import iso_utc
from planner.vocab import DEFAULT_STAGES

# Rows fetched at a time by the streaming cursors.
STREAM_ROWS = 1000

Progress = Callable[[str, int], object]


def export_project(session: Session, project: Project) -> dict[str, Any]:
    """Return the whole project as a JSON-ready dict."""
    document, stories = _document(session, project)
    document["stories"] = list(stories)
    return document


def export_text(
    session: Session, project: Project, *, progress: Progress | None = None
) -> Iterator[str]:
    """Yield the project's document as JSON text (indented by 2, UTF-8 characters as they are,
    a final line break), piece by piece: the same text as `json.dumps(export_project(...),
    indent=2, ensure_ascii=False) + "\n"`. `progress(part, n)` hears of each story written
    ("stories", 1) and its events ("events", n)."""
    document, stories = _document(session, project, progress=progress)
    text = _dumps(document) + "\n"
    # The document's own "stories": [] at the top level, where the stories are written instead.
    # A text value cannot hold it: its line break would be written as \n.
    before, after = text.split('\n  "stories": []', 1)
    yield before + '\n  "stories": ['
    first = True
    for item in stories:
        yield ("\n" if first else ",\n") + _indented(_dumps(item), "    ")
        first = False
    yield ("\n  ]" if not first else "]") + after


def export_size(session: Session, project: Project) -> tuple[int, int]:
    """Return how many stories and story events the project's export holds."""
    stories = session.scalar(select(func.count()).where(Story.project_id == project.id))
    events = session.scalar(
        select(func.count())
        .select_from(StoryEvent)
        .join(Story, Story.id == StoryEvent.story_id)
        .where(Story.project_id == project.id)
    )
    return stories or 0, events or 0


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _indented(text: str, prefix: str) -> str:
    return prefix + text.replace("\n", "\n" + prefix)


def _document(
    session: Session, project: Project, *, progress: Progress | None = None
) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """The document without its stories (`"stories": []` in its place), and the stories, read
    as they are iterated."""
    stages = list(
        session.scalars(
            select(Stage).where(Stage.project_id == project.id).order_by(Stage.position, Stage.id)
        )
    )
    stage_key = {stage.id: stage.key for stage in stages}
    holidays = session.scalars(
        select(Holiday.day).where(Holiday.project_id == project.id).order_by(Holiday.day)
    )
    memberships = list(
        session.scalars(
            select(Membership)
            .where(Membership.project_id == project.id)
            .options(selectinload(Membership.account), selectinload(Membership.role_rows))
        )
    )
    # Everyone the project's rows mention, members or not (a former member's old events).
    emails: dict[int, str] = {m.account_id: m.account.email for m in memberships}

    def email(account_id: int | None) -> str | None:
        if account_id is None:
            return None
        if account_id not in emails:
            account = session.get(Account, account_id)
            emails[account_id] = account.email if account else None
        return emails[account_id]

    milestones = list(
        session.scalars(
            select(Milestone)
            .where(Milestone.project_id == project.id)
            .options(selectinload(Milestone.forecasts))
            .order_by(Milestone.id)
        )
    )
    milestone_name = {m.id: m.name for m in milestones}
    epics = list(
        session.scalars(select(Epic).where(Epic.project_id == project.id).order_by(Epic.id))
    )
    epic_key = {e.id: e.key for e in epics}
    sprints = list(
        session.scalars(
            select(Sprint)
            .where(Sprint.project_id == project.id)
            .options(selectinload(Sprint.capacities))
            .order_by(Sprint.start_date, Sprint.id)
        )
    )
    sprint_name = {s.id: s.name for s in sprints}
    # Stories and what hangs off them, streamed, each ordered by story number (then as the
    # document orders them within a story) so that `_merged` can pair them up.
    stream = {"yield_per": STREAM_ROWS}
    stories = session.scalars(
        select(Story)
        .where(Story.project_id == project.id)
        .order_by(Story.number)
        .execution_options(**stream)
    )
    events = session.execute(
        select(
            Story.number,
            StoryEvent.at,
            StoryEvent.field,
            StoryEvent.from_value,
            StoryEvent.to_value,
            StoryEvent.by_id,
        )
        .join(Story, Story.id == StoryEvent.story_id)
        .where(Story.project_id == project.id)
        .order_by(Story.number, StoryEvent.at, StoryEvent.id)
        .execution_options(**stream)
    )
    comments = session.execute(
        select(Story.number, Comment.author_id, Comment.created_at, Comment.body)
        .join(Story, Story.id == Comment.story_id)
        .where(Story.project_id == project.id)
        .order_by(Story.number, Comment.created_at, Comment.id)
        .execution_options(**stream)
    )
    labels = session.execute(
        select(Story.number, Label.name)
        .join(story_label, story_label.c.label_id == Label.id)
        .join(Story, Story.id == story_label.c.story_id)
        .where(Label.project_id == project.id)
        .order_by(Story.number, Label.name)
        .execution_options(**stream)
    )
    risks = list(
        session.scalars(select(Risk).where(Risk.project_id == project.id).order_by(Risk.id))
    )
    risk_stories: dict[int, list[int]] = defaultdict(list)
    for risk_id, number in session.execute(
        select(risk_story.c.risk_id, Story.number)
        .join(Risk, Risk.id == risk_story.c.risk_id)
        .join(Story, Story.id == risk_story.c.story_id)
        .where(Risk.project_id == project.id)
        .order_by(Story.number)
    ):
        risk_stories[risk_id].append(number)

    def event_value(field: str, value: str | None) -> Any:
        if value is None:
            return None
        if field == "points":
            return int(value)
        if field == "sprint":
            return sprint_name.get(int(value))
        if field == "assignee":
            return email(int(value))
        return value

    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "project": {
            "key": project.key,
            "name": project.name,
            "description": project.description,
            "timezone": project.timezone,
            "working_days": list(project.working_weekdays),
            "holidays": [day.isoformat() for day in holidays],
            "sprint_length_days": project.sprint_length_days,
            "slip_tolerance_days": project.slip_tolerance_days,
            "created_at": iso_utc(project.created_at),
            "stages": [_stage_entry(stage) for stage in stages],
        },
        "members": [
            {
                "email": m.account.email,
                "name": m.account.name,
                "access": m.access,
                "roles": m.roles,
            }
            for m in sorted(memberships, key=lambda m: m.account.email)
        ],
        "epics": [
            {
                "key": e.key,
                "title": e.title,
                "description": e.description,
                "stage": stage_key.get(e.stage_id),
                "milestone": milestone_name.get(e.milestone_id),
                "archived": e.archived,
                **({"imported_from": e.external_ref} if e.external_ref else {}),
            }
            for e in epics
        ],
        "sprints": [
            {
                "name": s.name,
                "goal": s.goal,
                "start": s.start_date.isoformat(),
                "end": s.end_date.isoformat(),
                "state": s.state,
                "started_at": iso_utc(s.started_at),
                "closed_at": iso_utc(s.closed_at),
                **({"imported_at": iso_utc(s.imported_at)} if s.imported_at else {}),
                **({"imported_from": s.external_ref} if s.external_ref else {}),
                "capacity": [
                    {"member": email(c.account_id), "points": c.points}
                    for c in sorted(s.capacities, key=lambda c: email(c.account_id) or "")
                ],
            }
            for s in sprints
        ],
        "stories": [],
        "milestones": [
            {
                "name": m.name,
                "description": m.description,
                "stage": stage_key.get(m.stage_id),
                "baseline": m.baseline.isoformat(),
                "achieved": m.achieved.isoformat() if m.achieved else None,
                "forecasts": [
                    {
                        "reported_on": f.reported_on.isoformat(),
                        "forecast": f.forecast.isoformat(),
                        "note": f.note,
                        "by": email(f.by_id),
                    }
                    for f in m.forecasts
                ],
            }
            for m in milestones
        ],
        "risks": [
            {
                "title": r.title,
                "description": r.description,
                "category": r.category,
                "likelihood": r.likelihood,
                "impact": r.impact,
                "owner": email(r.owner_id),
                "mitigation": r.mitigation,
                "status": r.status,
                "stories": [f"{project.key}-{n}" for n in risk_stories[r.id]],
                "milestone": milestone_name.get(r.milestone_id),
                "review_on": r.review_on.isoformat() if r.review_on else None,
            }
            for r in risks
        ],
    }

    def story_entries() -> Iterator[dict[str, Any]]:
        for s, history, notes, names in _merged(stories, events, comments, labels):
            entry = {
                "key": s.key_in(project.key),
                "title": s.title,
                "description": s.description,
                "type": s.type,
                "stage": stage_key.get(s.stage_id),
                "role": s.role,
                "points": s.points,
                "status": s.status,
                "epic": epic_key.get(s.epic_id),
                "sprint": sprint_name.get(s.sprint_id),
                "assignee": email(s.assignee_id),
                "rank": s.rank,
                "created_at": iso_utc(s.created_at),
                "blocked": s.blocked,
                "hypothesis": s.hypothesis,
                "metric": s.metric,
                "target": s.target,
                "outcome": s.outcome,
                "result": s.result,
                "history": [
                    {
                        "at": iso_utc(e.at),
                        "field": e.field,
                        "from": event_value(e.field, e.from_value),
                        "to": event_value(e.field, e.to_value),
                        "by": email(e.by_id),
                    }
                    for e in history
                ],
                "comments": [
                    {"author": email(c.author_id), "at": iso_utc(c.created_at), "body": c.body}
                    for c in notes
                ],
                **({"labels": names} if names else {}),
                **(
                    {
                        "imported_from": s.external_ref,
                        "imported_at": iso_utc(s.imported_at),
                        "source_updated": iso_utc(s.external_updated),
                        "source_fields": s.external_snapshot,
                    }
                    if s.external_ref
                    else {}
                ),
            }
            if progress is not None:
                progress("stories", 1)
                progress("events", len(history))
            yield entry

    return document, story_entries()


def _stage_entry(stage: Stage) -> str | dict[str, Any]:
    if (
        stage.key in DEFAULT_STAGES
        and stage.name == DEFAULT_STAGES[stage.key]
        and not stage.archived
    ):
        return stage.key
    entry: dict[str, Any] = {"key": stage.key, "name": stage.name}
    if stage.archived:
        entry["archived"] = True
    return entry


def _merged(stories, *streams) -> Iterator[tuple]:
    """Pair each story with its rows of each stream (rows whose first column is its number),
    all ordered by story number: (story, rows of the first stream, of the second, ...), where a
    one-column-after-the-number stream (labels) gives its values rather than rows."""
    iterators = [iter(stream) for stream in streams]
    pending = [next(it, None) for it in iterators]
    for story in stories:
        groups = []
        for i, it in enumerate(iterators):
            rows = []
            row = pending[i]
            while row is not None and row[0] < story.number:
                row = next(it, None)  # a row of no story of the stream (cannot happen)
            while row is not None and row[0] == story.number:
                rows.append(row[1] if len(row) == 2 else row)
                row = next(it, None)
            pending[i] = row
            groups.append(rows)
        yield (story, *groups)
