"""Export a project as an interchange document (docs/export-format.md), in a bounded number of
queries whatever the project's size."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
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


def export_project(session: Session, project: Project) -> dict[str, Any]:
    """Return the whole project as a JSON-ready dict."""
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
    stories = list(
        session.scalars(select(Story).where(Story.project_id == project.id).order_by(Story.number))
    )
    events: dict[int, list[StoryEvent]] = defaultdict(list)
    for event in session.scalars(
        select(StoryEvent)
        .join(Story, Story.id == StoryEvent.story_id)
        .where(Story.project_id == project.id)
        .order_by(StoryEvent.at, StoryEvent.id)
    ):
        events[event.story_id].append(event)
    comments: dict[int, list[Comment]] = defaultdict(list)
    for comment in session.scalars(
        select(Comment)
        .join(Story, Story.id == Comment.story_id)
        .where(Story.project_id == project.id)
        .order_by(Comment.created_at, Comment.id)
    ):
        comments[comment.story_id].append(comment)
    labels: dict[int, list[str]] = defaultdict(list)
    for story_id, name in session.execute(
        select(story_label.c.story_id, Label.name)
        .join(Label, Label.id == story_label.c.label_id)
        .where(Label.project_id == project.id)
        .order_by(Label.name)
    ):
        labels[story_id].append(name)
    story_key = {s.id: s.key_in(project.key) for s in stories}
    risks = list(
        session.scalars(select(Risk).where(Risk.project_id == project.id).order_by(Risk.id))
    )
    risk_stories: dict[int, list[int]] = defaultdict(list)
    for risk_id, story_id in session.execute(
        select(risk_story.c.risk_id, risk_story.c.story_id)
        .join(Risk, Risk.id == risk_story.c.risk_id)
        .where(Risk.project_id == project.id)
    ):
        risk_stories[risk_id].append(story_id)

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
        "stories": [
            {
                "key": story_key[s.id],
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
                    for e in events[s.id]
                ],
                "comments": [
                    {"author": email(c.author_id), "at": iso_utc(c.created_at), "body": c.body}
                    for c in comments[s.id]
                ],
                **({"labels": labels[s.id]} if labels.get(s.id) else {}),
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
            for s in stories
        ],
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
                "stories": sorted(
                    (story_key[i] for i in risk_stories[r.id]),
                    key=lambda key: int(key.rsplit("-", 1)[1]),
                ),
                "milestone": milestone_name.get(r.milestone_id),
                "review_on": r.review_on.isoformat() if r.review_on else None,
            }
            for r in risks
        ],
    }
    return document


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
