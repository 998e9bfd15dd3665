"""The outbox: every change others may care about is written here, in the caller's transaction.

A change that rolls back takes its outbox row with it, and a change that commits always has one:
nothing is sent for a change that did not happen, and nothing that happened goes unsent. The
worker (planner.delivery) turns each row into notifications, e-mails and webhook calls.

Each row's `data` is the event's payload, frozen as it was when the change was made: it is what
webhooks receive as "data" (docs/webhooks.md documents every event).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session, object_session

from planner.domain.context import ProjectContext
from planner.forecasting import MilestoneState, risk_level
from planner.models import Account, Milestone, OutboxEvent, Project, Risk, Sprint, Story
from planner.timeutil import iso_utc

# The events a webhook may subscribe to, in the order the settings page lists them.
EVENTS: dict[str, str] = {
    "story.created": "A story was created",
    "story.updated": "A story changed (status, assignee, points, sprint, text…)",
    "story.commented": "Someone commented on a story",
    "sprint.started": "A sprint started",
    "sprint.closed": "A sprint closed, with its committed and completed points",
    "milestone.forecast_changed": "A milestone was re-forecast (old and new slip and status)",
    "milestone.achieved": "A milestone was marked achieved",
    "risk.changed": "A risk was added or its level changed",
    "gate.decided": "A stage gate was decided (go, no-go or conditional go)",
}
# Sent only by "send a test event", never by a change.
PING = "ping"


def emit(
    session: Session,
    project: Project,
    event: str,
    data: Mapping[str, Any],
    *,
    by: Account | None,
    now: datetime,
) -> OutboxEvent:
    """Add an outbox row for `event` to the current transaction."""
    if event not in EVENTS and event != PING:
        raise ValueError(f"{event} is not an outbox event")
    body = dict(data)
    body["actor"] = person(by)
    row = OutboxEvent(
        project_id=project.id,
        event=event,
        occurred_at=now,
        actor_id=by.id if by is not None else None,
        data=json.dumps(body, default=_json_default, ensure_ascii=False),
        state="pending",
    )
    session.add(row)
    return row


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def person(account: Account | None) -> dict[str, str] | None:
    if account is None:
        return None
    return {"email": account.email, "name": account.name}


# --- payloads ----------------------------------------------------------------------------------


def story_data(ctx: ProjectContext, story: Story) -> dict[str, Any]:
    """A story as events carry it: its key, title and the fields people filter on."""
    stage = ctx.stage_by_id(story.stage_id)
    assignee = ctx.members.get(story.assignee_id) if story.assignee_id else None
    sprint = ctx.sprints.get(story.sprint_id) if story.sprint_id else None
    epic = ctx.epic_by_id(story.epic_id)
    return {
        "key": story.key_in(ctx.project.key),
        "number": story.number,
        "title": story.title,
        "description": story.description,
        "type": story.type,
        "status": story.status,
        "points": story.points,
        "stage": stage.key if stage else None,
        "role": story.role,
        "assignee": assignee.account.email if assignee else None,
        "sprint": {"id": sprint.id, "name": sprint.name} if sprint else None,
        "epic": epic.key if epic else None,
        "blocked": story.blocked,
        "version": story.version,
        "path": f"/projects/{ctx.project.key}/stories/{story.number}",
    }


def story_created(
    session: Session, ctx: ProjectContext, story: Story, *, by: Account | None, now: datetime
) -> None:
    emit(session, ctx.project, "story.created", {"story": story_data(ctx, story)}, by=by, now=now)


def story_updated(
    session: Session,
    ctx: ProjectContext,
    story: Story,
    changes: Mapping[str, tuple[Any, Any]],
    *,
    by: Account | None,
    now: datetime,
) -> None:
    """`changes` maps each changed field to (old, new) as the API shows them."""
    emit(
        session,
        ctx.project,
        "story.updated",
        {
            "story": story_data(ctx, story),
            "changes": {f: {"from": old, "to": new} for f, (old, new) in changes.items()},
        },
        by=by,
        now=now,
    )


def story_commented(
    session: Session,
    project: Project,
    story: Story,
    comment_id: int,
    body: str,
    *,
    by: Account,
    now: datetime,
) -> None:
    emit(
        session,
        project,
        "story.commented",
        {
            "story": {
                "key": story.key_in(project.key),
                "number": story.number,
                "title": story.title,
                "path": f"/projects/{project.key}/stories/{story.number}",
            },
            "comment": {"id": comment_id, "body": body, "created_at": now},
        },
        by=by,
        now=now,
    )


def sprint_data(project: Project, sprint: Sprint) -> dict[str, Any]:
    return {
        "id": sprint.id,
        "name": sprint.name,
        "goal": sprint.goal,
        "start": sprint.start_date,
        "end": sprint.end_date,
        "state": sprint.state,
        "path": f"/projects/{project.key}/sprints/{sprint.id}",
    }


def milestone_data(project: Project, milestone: Milestone) -> dict[str, Any]:
    return {
        "id": milestone.id,
        "name": milestone.name,
        "baseline": milestone.baseline,
        "path": f"/projects/{project.key}/milestones/{milestone.id}",
    }


def milestone_state_data(state: MilestoneState) -> dict[str, Any]:
    return {"forecast": state.current, "slip_days": state.slip_days, "status": state.status}


def _email_of(risk: Risk) -> str | None:
    if risk.owner_id is None:
        return None
    owner = object_session(risk).get(Account, risk.owner_id)
    return owner.email if owner else None


def risk_data(project: Project, risk: Risk) -> dict[str, Any]:
    return {
        "id": risk.id,
        "title": risk.title,
        "category": risk.category,
        "likelihood": risk.likelihood,
        "impact": risk.impact,
        "score": risk.score,
        "level": risk_level(risk.likelihood, risk.impact),
        "status": risk.status,
        "owner": _email_of(risk),
        "path": f"/projects/{project.key}/risks/{risk.id}",
    }


def gate_decided(
    session: Session,
    project: Project,
    gate: Any,
    decision: Any,
    previous_state: str,
    *,
    by: Account | None,
    now: datetime,
    url: str | None = None,
) -> None:
    """A gate decision (planner.domain.gates): what was decided, why, on which gate, and who may
    decide it (the fan-out notifies them and the managers)."""
    path = f"/projects/{project.key}/gates/{gate.id}"
    emit(
        session,
        project,
        "gate.decided",
        {
            "gate": {"id": gate.id, "name": gate.name, "stage": gate.stage.key, "path": path},
            "decision": decision.decision,
            "reason": decision.reason,
            "conditions": decision.conditions,
            "previous_state": previous_state,
            "decided_at": decision.decided_at,
            "approvers": [
                {"role": a.role} if a.role else person(a.account) for a in gate.approvers
            ],
            "url": url or path,
        },
        by=by,
        now=now,
    )
