"""Project settings → Webhooks: register a URL with its secret and events, see its last
deliveries (status, answer code, duration), send a test event, redeliver, turn it on or off."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, render_template, request, url_for
from flask_login import current_user

from planner import db
from planner.authz import project_route
from planner.domain import NotFoundError, ValidationError, parse_id
from planner.domain.access import ProjectAccess
from planner.domain.outbox import EVENTS
from planner.domain.webhooks import (
    create_webhook,
    delete_webhook,
    find_delivery,
    find_webhook,
    recent_deliveries,
    redeliver,
    send_test,
    set_active,
    webhooks_of,
)
from planner.signin import require_login
from planner.timeutil import utcnow
from planner.web.forms import EmptyForm, act

bp = Blueprint("webhooks", __name__)
bp.before_request(require_login)


def _page(access: ProjectAccess, values: dict | None = None, errors: dict | None = None):
    session = db.session()
    hooks = webhooks_of(session, access.project)
    return render_template(
        "projects/webhooks.html",
        access=access,
        project=access.project,
        hooks=[(h, recent_deliveries(session, h, limit=10)) for h in hooks],
        events=EVENTS,
        values=values or {"events": list(EVENTS)},
        errors=errors or {},
        button=EmptyForm(),
    )


@bp.route("/projects/<key>/settings/webhooks", methods=["GET", "POST"])
@project_route(write="manage")
def index(access: ProjectAccess):
    if not access.can_manage:
        abort(403, description="Only project managers see and register webhooks.")
    if request.method == "GET":
        return _page(access)
    values = {
        "url": request.form.get("url", ""),
        "secret": request.form.get("secret", ""),
        "events": request.form.getlist("events"),
    }
    session = db.session()
    try:
        hook = create_webhook(
            session,
            access.project,
            values,
            by=current_user,
            now=utcnow(),
            allow_private=current_app.config["WEBHOOK_ALLOW_PRIVATE"],
        )
    except ValidationError as exc:
        session.rollback()
        return _page(access, values, exc.details), 422
    session.commit()
    flash(
        f"Webhook added. Its secret is {hook.secret} — keep it where the receiver checks "
        "signatures; it is shown again on this page to managers only.",
        "success",
    )
    return _page(access)


def _hook(access: ProjectAccess, webhook_id: int):
    try:
        return find_webhook(db.session(), access.project, webhook_id)
    except NotFoundError:
        abort(404)


def _back(access: ProjectAccess, webhook_id: int | None = None) -> str:
    anchor = f"#webhook-{webhook_id}" if webhook_id else ""
    return url_for(".index", key=access.project.key) + anchor


@bp.post("/projects/<key>/settings/webhooks/<int:webhook_id>/<action>")
@project_route(write="manage")
def change(access: ProjectAccess, webhook_id: int, action: str):
    session = db.session()
    hook = _hook(access, webhook_id)
    now = utcnow()
    if action == "test":
        return act(
            lambda: send_test(session, access.project, hook, by=current_user, now=now),
            done=lambda d: f"Test event queued as delivery {d.id}; it shows below once sent.",
            then=_back(access, hook.id),
        )
    if action == "delete":
        return act(
            lambda: delete_webhook(session, hook),
            done=f"Webhook {hook.url} deleted.",
            then=_back(access),
        )
    if action in ("enable", "disable"):
        return act(
            lambda: set_active(session, hook, action == "enable"),
            done=f"Webhook {'enabled' if action == 'enable' else 'disabled'}.",
            then=_back(access, hook.id),
        )
    if action == "redeliver":
        delivery_id = parse_id(request.form.get("delivery", ""))
        try:
            delivery = find_delivery(session, hook, delivery_id or 0)
        except NotFoundError:
            abort(404)
        return act(
            lambda: redeliver(session, delivery, now=now),
            done=f"Delivery {delivery.id} queued again.",
            failed="Not redelivered: ",
            then=_back(access, hook.id),
        )
    abort(404)
