"""A project's labels: the page listing them with how many stories carry each, where managers
rename, colour and delete them; and the stylesheet that colours label chips on every page."""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, abort, render_template, request, url_for

from planner import db
from planner.authz import project_route
from planner.domain.access import ProjectAccess
from planner.domain.labels import (
    PALETTE,
    delete_label,
    label_by_id,
    label_counts,
    label_stylesheet,
    project_labels,
    rename_label,
    set_colour,
)
from planner.signin import require_login
from planner.web.forms import EmptyForm, act

bp = Blueprint("labels", __name__)
bp.before_request(require_login)


@bp.get("/projects/<key>/labels")
@project_route(write="manage")
def index(access: ProjectAccess):
    session = db.session()
    labels = project_labels(session, access.project)
    return render_template(
        "labels/index.html",
        access=access,
        project=access.project,
        labels=labels,
        counts=label_counts(session, access.project),
        palette=PALETTE,
        button=EmptyForm(),
    )


@bp.post("/projects/<key>/labels/<int:label_id>")
@project_route(write="manage")
def change(access: ProjectAccess, label_id: int):
    """Rename, recolour or delete one label (the button pressed says which)."""
    session = db.session()
    label = label_by_id(session, access.project, label_id)
    if label is None:
        abort(404)
    action = request.form.get("action", "")
    back = url_for("labels.index", key=access.project.key)
    old = label.name
    if action == "rename":
        return act(
            lambda: rename_label(session, label, request.form.get("name")),
            done=lambda renamed: f"Label “{old}” renamed to “{renamed.name}”.",
            failed=f"“{old}” not renamed: ",
            then=back + f"#label-{label_id}",
        )
    if action == "colour":
        # A palette swatch sends its colour; "custom" sends the hex field instead.
        choice = request.form.get("colour", "")
        text = request.form.get("hex", "") if choice == "custom" else choice
        return act(
            lambda: set_colour(session, label, text),
            done=f"Colour of “{old}” saved.",
            failed=f"Colour of “{old}” not saved: ",
            then=back + f"#label-{label_id}",
        )
    if action == "delete":
        return act(
            lambda: delete_label(session, label),
            done=f"Label “{old}” deleted; its stories keep their other labels.",
            then=back,
        )
    abort(400, description=f"Unknown label action {action!r:.40}.")


@bp.get("/projects/<key>/labels.css")
@project_route()
def stylesheet(access: ProjectAccess):
    """The colours of the project's labels as CSS; browsers check it again on every page (a 304
    while nothing changed)."""
    css = label_stylesheet(project_labels(db.session(), access.project))
    response = Response(css, mimetype="text/css")
    response.set_etag(hashlib.sha256(css.encode()).hexdigest()[:32])
    response.headers["Cache-Control"] = "private, no-cache"
    return response.make_conditional(request)
