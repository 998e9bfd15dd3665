"""Webhooks a project manager registers: checked URL, secret, chosen events; the last
deliveries with their attempts; a test event; redelivery (docs/webhooks.md)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from planner.delivery.webhooks import UnsafeURL, body_of, check_url
from planner.domain import NotFoundError, ValidationError
from planner.domain.outbox import EVENTS, PING, person
from planner.inputs import text_problem
from planner.models import Account, Delivery, OutboxEvent, Project, Webhook

URL_MAX = 2000
SECRET_MIN, SECRET_MAX = 16, 200
MAX_PER_PROJECT = 20


def new_secret() -> str:
    return secrets.token_hex(24)


def clean_webhook(
    session: Session, project: Project, values: Mapping[str, Any], *, allow_private: bool
) -> dict[str, Any]:
    """Check a webhook's url, secret (generated when left empty) and events."""
    errors: dict[str, str] = {}
    url = values.get("url")
    url = url.strip() if isinstance(url, str) else ""
    if not url:
        errors["url"] = "Enter the URL to call, like https://ci.example.com/planner-hook."
    elif len(url) > URL_MAX:
        errors["url"] = f"A URL is at most {URL_MAX} characters."
    elif problem := text_problem(url, multiline=False, max_len=URL_MAX):
        errors["url"] = problem
    else:
        try:
            check_url(url, allow_private=allow_private)
        except UnsafeURL as exc:
            errors["url"] = str(exc)
    if "url" not in errors and session.scalar(
        select(Webhook.id).where(Webhook.project_id == project.id, Webhook.url == url)
    ):
        errors["url"] = f"{project.key} already calls {url}."
    secret = values.get("secret")
    if secret is None or (isinstance(secret, str) and not secret.strip()):
        secret = new_secret()
    elif not isinstance(secret, str):
        errors["secret"] = "The secret is text."
    else:
        secret = secret.strip()
        if not SECRET_MIN <= len(secret) <= SECRET_MAX or text_problem(
            secret, multiline=False, max_len=SECRET_MAX
        ):
            errors["secret"] = (
                f"Use a secret of {SECRET_MIN} to {SECRET_MAX} printable characters, or leave "
                "it empty and planner makes one."
            )
    events = values.get("events")
    if isinstance(events, str):
        events = events.replace(",", " ").split()
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        errors["events"] = "Choose at least one event: " + ", ".join(EVENTS) + "."
    else:
        unknown = [e for e in events if e not in EVENTS]
        if unknown:
            errors["events"] = f"{unknown[0]!r} is not an event; choose from {', '.join(EVENTS)}."
    count = session.scalar(select(func.count(Webhook.id)).where(Webhook.project_id == project.id))
    if count >= MAX_PER_PROJECT:
        errors["url"] = f"A project has at most {MAX_PER_PROJECT} webhooks; delete one first."
    if errors:
        raise ValidationError(errors)
    return {"url": url, "secret": secret, "events": " ".join(e for e in EVENTS if e in events)}


def create_webhook(
    session: Session,
    project: Project,
    values: Mapping[str, Any],
    *,
    by: Account,
    now: datetime,
    allow_private: bool,
) -> Webhook:
    cleaned = clean_webhook(session, project, values, allow_private=allow_private)
    hook = Webhook(project_id=project.id, created_by_id=by.id, created_at=now, **cleaned)
    session.add(hook)
    session.flush()
    return hook


def webhooks_of(session: Session, project: Project) -> list[Webhook]:
    return list(
        session.scalars(
            select(Webhook).where(Webhook.project_id == project.id).order_by(Webhook.id)
        )
    )


def find_webhook(session: Session, project: Project, webhook_id: int) -> Webhook:
    hook = session.scalar(
        select(Webhook).where(Webhook.id == webhook_id, Webhook.project_id == project.id)
    )
    if hook is None:
        raise NotFoundError(f"{project.key} has no webhook {webhook_id}.")
    return hook


def delete_webhook(session: Session, hook: Webhook) -> None:
    session.delete(hook)
    session.flush()


def set_active(session: Session, hook: Webhook, active: bool) -> None:
    """Turn a webhook back on (after fixing the receiver) or off."""
    hook.active = active
    if active:
        hook.disabled_reason = None
    session.flush()


def send_test(session: Session, project: Project, hook: Webhook, *, by: Account, now: datetime):
    """Queue a `ping` event for this webhook only; the worker sends it like any delivery."""
    event = OutboxEvent(
        project_id=project.id,
        event=PING,
        occurred_at=now,
        actor_id=by.id,
        data=json.dumps({"webhook": {"id": hook.id, "url": hook.url}, "actor": person(by)}),
        state="dispatched",
        dispatched_at=now,
    )
    session.add(event)
    session.flush()
    body = body_of(event.id, PING, now, project.key, json.loads(event.data))
    delivery = Delivery(
        event_id=event.id,
        channel="webhook",
        webhook_id=hook.id,
        event=PING,
        payload=body,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    return delivery


def find_delivery(session: Session, hook: Webhook, delivery_id: int) -> Delivery:
    found = session.scalar(
        select(Delivery).where(Delivery.id == delivery_id, Delivery.webhook_id == hook.id)
    )
    if found is None:
        raise NotFoundError(f"Webhook {hook.id} has no delivery {delivery_id}.")
    return found


def redeliver(session: Session, delivery: Delivery, *, now: datetime) -> None:
    """Send a finished delivery again: same id and body, fresh retries."""
    if delivery.state == "pending":
        raise ValidationError({"delivery": "This delivery is still being tried."})
    delivery.state = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.lease_until = None
    delivery.claimed_by = None
    session.flush()


@dataclass(frozen=True)
class DeliveryLine:
    delivery: Delivery
    last_at: datetime | None
    status_code: int | None
    duration_ms: int | None
    error: str | None


def recent_deliveries(session: Session, hook: Webhook, limit: int = 20) -> list[DeliveryLine]:
    """The webhook's latest deliveries, newest first, each with its last attempt."""
    rows = session.scalars(
        select(Delivery)
        .where(Delivery.webhook_id == hook.id)
        .options(selectinload(Delivery.attempts_made))
        .order_by(Delivery.id.desc())
        .limit(limit)
    ).all()
    lines = []
    for row in rows:
        last = row.attempts_made[-1] if row.attempts_made else None
        lines.append(
            DeliveryLine(
                row,
                last.at if last else None,
                last.status_code if last else None,
                last.duration_ms if last else None,
                last.error if last else row.last_error,
            )
        )
    return lines
