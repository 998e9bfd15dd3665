"""API: your notifications, watching stories, and a project's webhooks (manage access)."""

from __future__ import annotations

from flask import abort, current_app, jsonify, request, url_for
from flask_login import current_user

from planner import db
from planner.api import bp, schemas
from planner.api.projects import json_body
from planner.api.spec import answers, spec
from planner.authz import project_route, story_route, writes
from planner.delivery.mail import base_url
from planner.domain import MAX_ID, NotFoundError, ValidationError, parse_id
from planner.domain.access import TALK, ProjectAccess
from planner.domain.notifications import PAGE, inbox, mark_read, unread_count
from planner.domain.watching import unwatch, watch, watchers_of
from planner.domain.webhooks import (
    DeliveryLine,
    create_webhook,
    delete_webhook,
    find_delivery,
    find_webhook,
    recent_deliveries,
    redeliver,
    send_test,
    webhooks_of,
)
from planner.models import Story, Webhook
from planner.timeutil import iso_utc, utcnow

# --- notifications -----------------------------------------------------------------------------


@bp.get("/notifications")
@spec.validate(resp=answers(200, schemas.NotificationList, 422), tags=["notifications"])
def notifications():
    """Your notifications, newest first, 50 a page (`?before=<id>` pages back, `?unread=1`
    lists only unread ones)."""
    session = db.session()
    raw_before = request.args.get("before")
    before = None
    if raw_before is not None:
        before = parse_id(raw_before)
        if before is None:
            raise ValidationError({"before": "before is a notification id, like 120."})
    unread_only = request.args.get("unread") in ("1", "true")
    lines = inbox(session, current_user, before=before, unread_only=unread_only)
    following = None
    if len(lines) == PAGE:
        args = {"before": lines[-1].note.id, **({"unread": 1} if unread_only else {})}
        following = url_for("api.notifications", _external=False, **args)
    return jsonify(
        {
            "notifications": [
                {
                    "id": line.note.id,
                    "project": line.project_key,
                    "kind": line.note.kind,
                    "text": line.note.text,
                    "detail": line.note.detail,
                    "url": base_url() + line.note.link,
                    "created_at": iso_utc(line.note.created_at),
                    "read_at": iso_utc(line.note.read_at),
                }
                for line in lines
            ],
            "unread": unread_count(session, current_user),
            "next": following,
        }
    )


@bp.post("/notifications/read")
@writes
@spec.validate(
    json=schemas.NotificationsRead,
    resp=answers(200, schemas.ReadCount, 400, 403, 422),
    tags=["notifications"],
)
def read_notifications():
    """Mark notifications read: `{"ids": [..]}` or `{"all": true}`."""
    body = json_body()
    ids = body.get("ids")
    if not body.get("all") and not ids:
        raise ValidationError({"ids": 'Send the ids to mark read, or "all": true.'})
    session = db.session()
    if ids:
        ids = [i for i in ids if 0 < i <= MAX_ID]  # ids no row can have are simply not there
    marked = mark_read(session, current_user, None if body.get("all") else ids, now=utcnow())
    session.commit()
    return jsonify({"marked": marked, "unread": unread_count(session, current_user)})


# --- watching ----------------------------------------------------------------------------------


def _watchers_json(story: Story) -> dict:
    people = watchers_of(db.session(), story.id)
    return {
        "watching": any(p.id == current_user.id for p in people),
        "watchers": [p.email for p in people],
    }


@bp.get("/stories/<story_key>/watchers")
@story_route()
@spec.validate(resp=answers(200, schemas.Watchers, 404), tags=["notifications"])
def story_watchers(access: ProjectAccess, story: Story):
    """Who watches the story, and whether you do."""
    return jsonify(_watchers_json(story))


@bp.put("/stories/<story_key>/watch")
@story_route(write=TALK)
@spec.validate(resp=answers(200, schemas.Watchers, 403, 404), tags=["notifications"])
def watch_story_json(access: ProjectAccess, story: Story):
    """Watch a story: hear about its changes and comments (view access is enough)."""
    session = db.session()
    watch(session, story.id, [current_user.id], now=utcnow())
    session.commit()
    return jsonify(_watchers_json(story))


@bp.delete("/stories/<story_key>/watch")
@story_route(write=TALK)
@spec.validate(resp=answers(200, schemas.Watchers, 403, 404), tags=["notifications"])
def unwatch_story_json(access: ProjectAccess, story: Story):
    """Stop watching a story."""
    session = db.session()
    unwatch(session, story.id, current_user.id)
    session.commit()
    return jsonify(_watchers_json(story))


# --- webhooks ----------------------------------------------------------------------------------


def webhook_json(hook: Webhook, *, secret: bool = False) -> dict:
    body = {
        "id": hook.id,
        "url": hook.url,
        "events": hook.event_names,
        "active": hook.active,
        "disabled_reason": hook.disabled_reason,
        "created_at": iso_utc(hook.created_at),
    }
    if secret:
        body["secret"] = hook.secret
    return body


def _hook(access: ProjectAccess, webhook_id: int) -> Webhook:
    access.require("manage")
    try:
        return find_webhook(db.session(), access.project, webhook_id)
    except NotFoundError:
        abort(404)


@bp.get("/projects/<key>/webhooks")
@project_route(write="manage")
@spec.validate(resp=answers(200, schemas.WebhookList, 403, 404), tags=["webhooks"])
def webhooks(access: ProjectAccess):
    """The project's webhooks (manage access)."""
    access.require("manage")
    return jsonify(
        {"webhooks": [webhook_json(h) for h in webhooks_of(db.session(), access.project)]}
    )


@bp.post("/projects/<key>/webhooks")
@project_route(write="manage")
@spec.validate(
    json=schemas.WebhookCreate,
    resp=answers(201, schemas.WebhookCreated, 400, 403, 404, 422),
    tags=["webhooks"],
)
def create_webhook_json(access: ProjectAccess):
    """Register a URL for the events named; the answer holds the secret that signs deliveries."""
    session = db.session()
    hook = create_webhook(
        session,
        access.project,
        json_body(),
        by=current_user,
        now=utcnow(),
        allow_private=current_app.config["WEBHOOK_ALLOW_PRIVATE"],
    )
    session.commit()
    return jsonify(webhook_json(hook, secret=True)), 201


@bp.get("/projects/<key>/webhooks/<int:webhook_id>")
@project_route(write="manage")
@spec.validate(resp=answers(200, schemas.WebhookCreated, 403, 404), tags=["webhooks"])
def webhook(access: ProjectAccess, webhook_id: int):
    """One webhook, with its secret (manage access)."""
    return jsonify(webhook_json(_hook(access, webhook_id), secret=True))


@bp.delete("/projects/<key>/webhooks/<int:webhook_id>")
@project_route(write="manage")
@spec.validate(resp=answers(204, None, 403, 404), tags=["webhooks"])
def delete_webhook_json(access: ProjectAccess, webhook_id: int):
    """Delete a webhook and its delivery history (204)."""
    session = db.session()
    delete_webhook(session, _hook(access, webhook_id))
    session.commit()
    return "", 204


def delivery_json(line) -> dict:
    d = line.delivery
    return {
        "id": d.id,
        "event": d.event,
        "state": d.state,
        "attempts": d.attempts,
        "status_code": line.status_code,
        "duration_ms": line.duration_ms,
        "error": line.error,
        "created_at": iso_utc(d.created_at),
        "delivered_at": iso_utc(d.delivered_at),
        "next_attempt_at": iso_utc(d.next_attempt_at) if d.state == "pending" else None,
    }


@bp.get("/projects/<key>/webhooks/<int:webhook_id>/deliveries")
@project_route(write="manage")
@spec.validate(resp=answers(200, schemas.DeliveryList, 403, 404), tags=["webhooks"])
def webhook_deliveries(access: ProjectAccess, webhook_id: int):
    """The webhook's last 20 deliveries, newest first, each with its last attempt."""
    lines = recent_deliveries(db.session(), _hook(access, webhook_id))
    return jsonify({"deliveries": [delivery_json(line) for line in lines]})


@bp.post("/projects/<key>/webhooks/<int:webhook_id>/test")
@project_route(write="manage")
@spec.validate(resp=answers(202, schemas.DeliveryOut, 403, 404), tags=["webhooks"])
def webhook_test(access: ProjectAccess, webhook_id: int):
    """Queue a `ping` delivery to this webhook (202); the worker sends it."""
    session = db.session()
    delivery = send_test(
        session, access.project, _hook(access, webhook_id), by=current_user, now=utcnow()
    )
    session.commit()
    return jsonify(delivery_json(_line(delivery))), 202


@bp.post("/projects/<key>/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver")
@project_route(write="manage")
@spec.validate(resp=answers(202, schemas.DeliveryOut, 403, 404, 422), tags=["webhooks"])
def webhook_redeliver(access: ProjectAccess, webhook_id: int, delivery_id: int):
    """Send a finished delivery again, with the same id and body (202)."""
    session = db.session()
    hook = _hook(access, webhook_id)
    try:
        delivery = find_delivery(session, hook, delivery_id)
    except NotFoundError:
        abort(404)
    redeliver(session, delivery, now=utcnow())
    session.commit()
    return jsonify(delivery_json(_line(delivery))), 202


def _line(delivery):
    return DeliveryLine(delivery, None, None, None, delivery.last_error)
