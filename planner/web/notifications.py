"""The bell and the inbox, e-mail choices, one-click unsubscribe, and watching a story."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from planner import db
from planner.authz import project_route
from planner.delivery.fanout import KINDS, MODES, default_mode
from planner.delivery.mail import read_unsubscribe_token
from planner.domain import NotFoundError, parse_id
from planner.domain.access import TALK, ProjectAccess
from planner.domain.notifications import (
    PAGE,
    email_choices,
    find_notification,
    inbox,
    mark_read,
    set_email_choices,
    unread_count,
    unsubscribe,
)
from planner.domain.watching import unwatch, watch
from planner.models import Story
from planner.signin import NO_BELL, csrf, require_login, signed_in
from planner.timeutil import utcnow
from planner.web.forms import EmptyForm, act

bp = Blueprint("notifications", __name__)
bp.before_request(require_login)
# Reached from an e-mail, signed in or not: the signed token says whose choice it changes.
public = Blueprint("unsubscribe", __name__)


def bell() -> dict:
    """Template context for every page: the signed-in person's unread count (one query)."""
    if not signed_in() or request.endpoint in NO_BELL:
        return {}
    if "planner_unread" not in g:
        try:
            g.planner_unread = unread_count(db.session(), current_user)
        except SQLAlchemyError:  # an error page about the database must still render
            db.session().rollback()
            g.planner_unread = 0
    return {"unread_count": g.planner_unread}


@bp.get("/notifications")
def index():
    unread_only = request.args.get("show") == "unread"
    before = parse_id(request.args.get("before", "")) if request.args.get("before") else None
    lines = inbox(db.session(), current_user, before=before, unread_only=unread_only)
    return render_template(
        "notifications/index.html",
        lines=lines,
        unread_only=unread_only,
        older=lines[-1].note.id if len(lines) == PAGE else None,
        button=EmptyForm(),
    )


@bp.post("/notifications/<int:notification_id>/open")
def open_one(notification_id: int):
    """Mark one read and go to what it is about."""
    session = db.session()
    try:
        note = find_notification(session, current_user, notification_id)
    except NotFoundError:
        abort(404)
    mark_read(session, current_user, [note.id], now=utcnow())
    session.commit()
    return redirect(note.link)


@bp.post("/notifications/<int:notification_id>/read")
def read_one(notification_id: int):
    session = db.session()
    try:
        note = find_notification(session, current_user, notification_id)
    except NotFoundError:
        abort(404)
    unread = request.form.get("read") == "0"
    return act(
        lambda: mark_read(session, current_user, [note.id], now=utcnow(), read=not unread),
        then=_back(),
    )


@bp.post("/notifications/read-all")
def read_all():
    session = db.session()
    return act(
        lambda: mark_read(session, current_user, None, now=utcnow()),
        done=lambda n: f"Marked {n} notification{'s' if n != 1 else ''} read.",
        then=_back(),
    )


def _back() -> str:
    return url_for(".index", show=request.args.get("show") or None)


@bp.route("/account/email", methods=["GET", "POST"])
def email_settings():
    session = db.session()
    if request.method == "POST":
        values = {kind: request.form.get(kind, "default") for kind in KINDS}
        return act(
            lambda: set_email_choices(session, current_user, values),
            done="E-mail settings saved.",
            failed="Not saved: ",
            then=url_for(".email_settings"),
        )
    return render_template(
        "notifications/email.html",
        kinds=KINDS,
        modes=MODES,
        choices=email_choices(session, current_user),
        defaults={k: (default_mode(k, "edit"), default_mode(k, "view")) for k in KINDS},
        button=EmptyForm(),
    )


@public.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click: the mail client POSTs without a session; the token is signed
def unsubscribe_link(token: str):
    found = read_unsubscribe_token(token)
    if found is None:
        abort(404)
    account_id, kinds = found
    if request.method == "GET":
        return render_template(
            "notifications/unsubscribe.html",
            token=token,
            kinds=[KINDS[k] for k in kinds if k in KINDS],
            done=False,
        )
    session = db.session()
    if unsubscribe(session, account_id, kinds) is None:
        abort(404)
    session.commit()
    return render_template(
        "notifications/unsubscribe.html",
        token=token,
        kinds=[KINDS[k] for k in kinds if k in KINDS],
        done=True,
    )


@bp.post("/projects/<key>/stories/<int:number>/watch", endpoint="watch")
@project_route(write=TALK)  # stakeholders may watch what they care about
def watch_story(access: ProjectAccess, number: int):
    session = db.session()
    story = session.scalar(
        select(Story).where(Story.project_id == access.project.id, Story.number == number)
    )
    if story is None:
        abort(404)
    key = story.key_in(access.project.key)
    wanted = request.form.get("watch", "1") != "0"
    if wanted:
        watch(session, story.id, [current_user.id], now=utcnow())
    else:
        unwatch(session, story.id, current_user.id)
    session.commit()
    flash(
        f"You watch {key}: you hear about its changes and comments."
        if wanted
        else f"You no longer watch {key}.",
        "success",
    )
    return redirect(url_for("stories.show", key=access.project.key, number=number))
