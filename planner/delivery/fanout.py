"""Fan-out: one outbox row becomes the inbox lines, e-mails and webhook calls it causes.

Runs in the worker, in one transaction per batch: the notifications, the deliveries and the
row's "dispatched" mark commit together, so a worker that dies half way leaves the row pending
and the next worker does it whole (docs/notifications.md says who hears about what).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from planner.delivery import mail, webhooks
from planner.domain.watching import handle_of, mentioned_handles
from planner.forecasting import slip_words
from planner.models import (
    Delivery,
    EmailPreference,
    Membership,
    Notification,
    OutboxEvent,
    Project,
    Story,
    StoryWatch,
    Webhook,
)
from planner.vocab import GATE_DECISIONS, STATUSES

# What a person may choose how to hear about by e-mail (the account page lists these).
KINDS: dict[str, str] = {
    "assigned": "A story is assigned to you",
    "mentioned": "Someone @mentions you",
    "commented": "Someone comments on a story you watch",
    "updated": "A story you watch changes",
    "milestone": "A milestone is re-forecast or achieved",
    "risk": "A risk becomes high or critical",
    "sprint": "A sprint starts or closes",
    "gate": "A stage gate you approve or manage is decided",
    "webhook": "A webhook you manage is disabled",
}
MODES = {
    "immediate": "Right away",
    "daily": "Daily digest",
    "weekly": "Weekly digest",
    "never": "Never",
}
HIGH_LEVELS = ("high", "critical")


def default_mode(kind: str, access: str) -> str:
    """Without a choice: what is addressed to you comes right away; stakeholders (view access)
    get milestones, risks and sprints in a weekly digest; the rest stays in the bell."""
    if kind in ("assigned", "mentioned", "commented", "webhook", "gate"):
        return "immediate"
    if kind in ("milestone", "risk", "sprint"):
        return "weekly" if access == "view" else "never"
    return "never"


def preference(session: Session, membership: Membership, kind: str) -> str:
    """How this member wants `kind` by e-mail: their choice, else the default for their access."""
    chosen = session.get(EmailPreference, (membership.account_id, kind))
    return chosen.mode if chosen else default_mode(kind, membership.access)


@dataclass
class Note:
    """One inbox line for one person, before it is stored."""

    account_id: int
    kind: str
    text: str
    link: str
    detail: str | None = None


def dispatch(session: Session, events: list[OutboxEvent], *, now: datetime, mailer: bool) -> int:
    """Fan out `events` (claimed by the caller) and mark them dispatched; returns how many
    notifications were written."""
    if not events:
        return 0
    project_ids = {e.project_id for e in events}
    projects = {
        p.id: p for p in session.scalars(select(Project).where(Project.id.in_(project_ids)))
    }
    members: dict[int, dict[int, Membership]] = {pid: {} for pid in project_ids}
    for m in session.scalars(
        select(Membership)
        .where(Membership.project_id.in_(project_ids))
        .options(selectinload(Membership.account), selectinload(Membership.role_rows))
    ):
        if m.account.is_active_account:
            members[m.project_id][m.account_id] = m
    hooks: dict[int, list[Webhook]] = {pid: [] for pid in project_ids}
    for hook in session.scalars(
        select(Webhook).where(Webhook.project_id.in_(project_ids), Webhook.active.is_(True))
    ):
        hooks[hook.project_id].append(hook)
    story_numbers = {
        (e.project_id, json.loads(e.data)["story"]["number"])
        for e in events
        if e.event.startswith("story.")
    }
    watchers = _watchers(session, story_numbers)
    account_ids = {a for per in members.values() for a in per}
    prefs = {
        (p.account_id, p.kind): p.mode
        for p in session.scalars(
            select(EmailPreference).where(EmailPreference.account_id.in_(account_ids))
        )
    }
    written = 0
    for event in events:
        project = projects[event.project_id]
        data = json.loads(event.data)
        people = members[event.project_id]
        story_watchers = set()
        if event.event.startswith("story."):
            story_watchers = watchers.get((event.project_id, data["story"]["number"]), set())
        for note in notes_for(event, data, people, story_watchers):
            membership = people.get(note.account_id)
            if membership is None:
                continue
            mode = prefs.get((note.account_id, note.kind)) or default_mode(
                note.kind, membership.access
            )
            store(session, project, membership, note, mode, event, now=now, mailer=mailer)
            written += 1
        body = None
        for hook in hooks[event.project_id]:
            # A webhook hears what happens from its registration on, not what came before.
            if event.event in hook.event_names and event.occurred_at >= hook.created_at:
                body = body or webhooks.body_of(
                    event.id, event.event, event.occurred_at, project.key, data
                )
                session.add(
                    Delivery(
                        event_id=event.id,
                        channel="webhook",
                        webhook_id=hook.id,
                        event=event.event,
                        payload=body,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
        event.state = "dispatched"
        event.dispatched_at = now
    return written


def store(
    session: Session,
    project: Project,
    membership: Membership,
    note: Note,
    mode: str,
    event: OutboxEvent | None,
    *,
    now: datetime,
    mailer: bool,
) -> Notification:
    """Write one inbox line and, when its reader wants it right away, its e-mail."""
    row = Notification(
        account_id=note.account_id,
        project_id=project.id,
        event_id=event.id if event else None,
        kind=note.kind,
        text=note.text[:400],
        detail=note.detail,
        link=note.link[:400],
        created_at=now,
        digest=mode if mode in ("daily", "weekly") else None,
    )
    session.add(row)
    if mode == "immediate" and mailer:
        message = mail.notification_mail(membership.account, project, row)
        session.add(
            Delivery(
                event_id=event.id if event else None,
                channel="email",
                account_id=note.account_id,
                event=event.event if event else "mail",
                payload=json.dumps(message),
                next_attempt_at=now,
                created_at=now,
            )
        )
    return row


def _watchers(session: Session, keys: set[tuple[int, int]]) -> dict[tuple[int, int], set[int]]:
    if not keys:
        return {}
    found: dict[tuple[int, int], set[int]] = {}
    numbers = {n for _, n in keys}
    projects = {p for p, _ in keys}
    for project_id, number, account_id in session.execute(
        select(Story.project_id, Story.number, StoryWatch.account_id)
        .join(StoryWatch, StoryWatch.story_id == Story.id)
        .where(Story.project_id.in_(projects), Story.number.in_(numbers))
    ):
        found.setdefault((project_id, number), set()).add(account_id)
    return found


# --- who hears what ----------------------------------------------------------------------------


def _actor(data: dict) -> tuple[str, str | None]:
    actor = data.get("actor") or {}
    return actor.get("name") or "Someone", actor.get("email")


def _member_by_email(people: dict[int, Membership], email: str | None) -> int | None:
    if not email:
        return None
    return next((a for a, m in people.items() if m.account.email == email), None)


def _mentioned(people: dict[int, Membership], text: str | None, before: str | None = None):
    handles = mentioned_handles(text) - mentioned_handles(before)
    return [a for a, m in people.items() if handle_of(m.account.email) in handles]


def _excerpt(text: str | None, limit: int = 280) -> str | None:
    if not text:
        return None
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def notes_for(
    event: OutboxEvent, data: dict, people: dict[int, Membership], watchers: set[int]
) -> list[Note]:
    """The inbox lines one event writes, at most one per person, never to its actor."""
    who, actor_email = _actor(data)
    actor_id = event.actor_id
    notes: dict[int, Note] = {}

    def add(account_ids: Iterable[int | None], kind: str, text: str, link: str, detail=None):
        for account_id in account_ids:
            if account_id is None or account_id == actor_id or account_id in notes:
                continue
            notes[account_id] = Note(account_id, kind, text, link, detail)

    name = event.event
    if name.startswith("story."):
        story = data["story"]
        key, link = story["key"], story["path"]
        if name == "story.commented":
            body = data["comment"]["body"]
            link = f"{link}#comment-{data['comment']['id']}"
            add(
                _mentioned(people, body),
                "mentioned",
                f"{who} mentioned you on {key}",
                link,
                _excerpt(body),
            )
            add(watchers, "commented", f"{who} commented on {key}", link, _excerpt(body))
        elif name == "story.created":
            assignee = _member_by_email(people, story.get("assignee"))
            add([assignee], "assigned", f"{who} assigned {key} to you", link, story["title"])
            add(
                _mentioned(people, story.get("description")),
                "mentioned",
                f"{who} mentioned you in {key}",
                link,
                story["title"],
            )
        else:
            changes = data["changes"]
            if "assignee" in changes:
                assignee = _member_by_email(people, changes["assignee"]["to"])
                add([assignee], "assigned", f"{who} assigned {key} to you", link, story["title"])
            if "description" in changes:
                add(
                    _mentioned(
                        people, changes["description"]["to"], changes["description"]["from"]
                    ),
                    "mentioned",
                    f"{who} mentioned you in {key}",
                    link,
                    story["title"],
                )
            add(watchers, "updated", f"{who} {change_words(changes, key)}", link, story["title"])
    elif name in ("sprint.started", "sprint.closed"):
        sprint = data["sprint"]
        if name == "sprint.started":
            text = f"{who} started {sprint['name']} ({sprint['start']} to {sprint['end']})"
        else:
            text = (
                f"{sprint['name']} closed: {data['completed_points']} of "
                f"{data['committed_points']} committed points done"
            )
        add(people, "sprint", text, sprint["path"])
    elif name == "milestone.forecast_changed":
        milestone, old, new = data["milestone"], data["old"], data["new"]
        add(
            people,
            "milestone",
            milestone_words(milestone["name"], old, new),
            milestone["path"],
            data.get("note"),
        )
    elif name == "milestone.achieved":
        milestone = data["milestone"]
        add(
            people,
            "milestone",
            f"Milestone {milestone['name']} achieved on {data['achieved']} "
            f"({slip_words(data['slip_days'])})",
            milestone["path"],
        )
    elif name == "gate.decided":  # the managers and the gate's approvers (named or by role)
        gate = data["gate"]
        roles = {a["role"] for a in data.get("approvers", []) if a.get("role")}
        emails = [a["email"] for a in data.get("approvers", []) if a.get("email")]
        add(
            [a for a, m in people.items() if m.access == "manage" or roles & set(m.roles)]
            + [_member_by_email(people, e) for e in emails],
            "gate",
            f"{who} decided gate {gate['name']}: {GATE_DECISIONS.get(data['decision'], '?')}",
            gate["path"],
            _excerpt(data.get("conditions") or data.get("reason")),
        )
    elif name == "risk.changed":
        risk = data["risk"]
        level = risk["level"]
        if data["created"]:
            text = f"New {level} risk: {risk['title']} (score {risk['score']})"
        else:
            text = f"Risk {risk['title']} is now {level} (was {data['old_level']})"
        owner = _member_by_email(people, risk.get("owner"))
        if level in HIGH_LEVELS and data.get("old_level") not in HIGH_LEVELS:
            add(people, "risk", text, risk["path"])
        else:
            add([owner], "risk", text, risk["path"])
    return list(notes.values())


def milestone_words(name: str, old: dict[str, Any], new: dict[str, Any]) -> str:
    """ "Milestone Production launch slipped 1 week (now 3 weeks late)"."""
    moved = new["slip_days"] - old["slip_days"]
    now_words = slip_words(new["slip_days"])
    if moved > 0:
        return f"Milestone {name} slipped {_amount(moved)} (now {now_words})"
    if moved < 0:
        return f"Milestone {name} was pulled in {_amount(-moved)} (now {now_words})"
    return f"Milestone {name} was re-forecast, still {now_words}"


def _amount(days: int) -> str:
    return slip_words(days).rsplit(" ", 1)[0]  # "1 week late" -> "1 week"


def change_words(changes: dict, key: str) -> str:
    """ "moved FRAUD-31 to Done", "changed the points and sprint of FRAUD-31"."""
    if "status" in changes:
        status = changes["status"]["to"]
        return f"moved {key} to {STATUSES.get(status, status)}"
    fields = [f for f in changes if f != "assignee"] or list(changes)
    listed = ", ".join(fields[:-1]) + " and " + fields[-1] if len(fields) > 1 else fields[0]
    return f"changed the {listed} of {key}"
