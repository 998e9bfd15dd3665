"""Turn models into the API's JSON shapes. Dates and times go out as ISO strings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import object_session

from planner.domain.access import ProjectAccess
from planner.domain.context import ProjectContext
from planner.domain.dependencies import HistoryEntry
from planner.domain.labels import labels_of
from planner.domain.stories import needs_outcome
from planner.models import ApiToken, OutcomeRecord, Project, Sprint, Story, StoryEvent
from planner.timeutil import iso_utc


def project_json(access: ProjectAccess) -> dict[str, Any]:
    project = access.project
    return {
        "key": project.key,
        "name": project.name,
        "description": project.description,
        "timezone": project.timezone,
        "working_days": list(project.working_weekdays),
        "sprint_length_days": project.sprint_length_days,
        "slip_tolerance_days": project.slip_tolerance_days,
        "access": access.level,
        "roles": access.membership.roles,
    }


def sprint_json(sprint: Sprint) -> dict[str, Any]:
    return {
        "id": sprint.id,
        "name": sprint.name,
        "goal": sprint.goal,
        "start": sprint.start_date.isoformat(),
        "end": sprint.end_date.isoformat(),
        "state": sprint.state,
        "started_at": iso_utc(sprint.started_at),
        "closed_at": iso_utc(sprint.closed_at),
        "imported_at": iso_utc(sprint.imported_at),
    }


def _email(ctx: ProjectContext, account_id: int | None) -> str | None:
    if account_id is None:
        return None
    member = ctx.members.get(account_id)
    return member.account.email if member else None


def _event_value(ctx: ProjectContext, field: str, value: str | None) -> Any:
    if value is None:
        return None
    if field in ("points", "sprint"):
        return int(value)
    if field == "assignee":
        return _email(ctx, int(value))
    return value


def event_json(ctx: ProjectContext, event: StoryEvent | HistoryEntry) -> dict[str, Any]:
    return {
        "at": iso_utc(event.at),
        "field": event.field,
        "from": _event_value(ctx, event.field, event.from_value),
        "to": _event_value(ctx, event.field, event.to_value),
        "by": _email(ctx, event.by_id),
    }


def story_json(
    ctx: ProjectContext,
    story: Story,
    *,
    history: Sequence[StoryEvent | HistoryEntry] | None = None,
    labels: list[str] | None = None,
) -> dict[str, Any]:
    """A story as the API shows it; with `history`, its events; `labels` are its label names
    A to Z when the caller has them (else read with the story or in one query)."""
    project: Project = ctx.project
    stage = ctx.stage_by_id(story.stage_id)
    epic = ctx.epic_by_id(story.epic_id)
    sprint = ctx.sprints.get(story.sprint_id) if story.sprint_id else None
    assignee = ctx.members.get(story.assignee_id) if story.assignee_id else None
    body: dict[str, Any] = {
        "key": story.key_in(project.key),
        "project": project.key,
        "title": story.title,
        "description": story.description,
        "type": story.type,
        "stage": stage.key if stage else None,
        "role": story.role,
        "points": story.points,
        "status": story.status,
        "assignee": assignee.account.email if assignee else None,
        "assignee_name": assignee.account.name if assignee else None,
        "sprint": story.sprint_id,
        "sprint_name": sprint.name if sprint else None,
        "epic": epic.key if epic else None,
        "rank": story.rank,
        "blocked": story.blocked,
        "hypothesis": story.hypothesis,
        "metric": story.metric,
        "target": story.target,
        "outcome": story.outcome,
        "needs_outcome": needs_outcome(story.type, story.outcome),
        "result": story.result,
        "version": story.version,
        "created_at": iso_utc(story.created_at),
        "updated_at": iso_utc(story.updated_at),
        "updated_by": _email(ctx, story.updated_by_id),
        "imported_from": story.external_ref,
        "labels": _label_names(story) if labels is None else labels,
    }
    if history is not None:
        body["history"] = [event_json(ctx, event) for event in history]
    return body


def outcome_record_json(record: OutcomeRecord | None) -> dict[str, Any] | None:
    """An experiment's latest recorded outcome (decided_by loaded with it), or None."""
    if record is None:
        return None
    who = record.decided_by
    return {
        "outcome": record.outcome,
        "run_id": record.run_id,
        "metric": record.metric,
        "target": record.target,
        "value": record.value,
        "reason": record.reason,
        "decided_by": {"email": who.email, "name": who.name} if who else None,
        "decided_at": iso_utc(record.decided_at),
    }


def _label_names(story: Story) -> list[str]:
    """The story's label names, A to Z: as loaded with the story (lists load them at once),
    else in one query (a single story)."""
    if "labels" in inspect(story).unloaded:
        return sorted(labels_of(object_session(story), story))
    return sorted(label.name for label in story.labels)


def token_json(token: ApiToken) -> dict[str, Any]:
    """A token as lists show it: never its secret."""
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "scope": token.scope,
        "created_at": iso_utc(token.created_at),
        "last_used_at": iso_utc(token.last_used_at),
        "expires_at": iso_utc(token.expires_at),
        "revoked_at": iso_utc(token.revoked_at),
    }
