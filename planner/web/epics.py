"""Epics: the list with progress, create, edit, archive."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for

from planner import db
from planner.authz import project_route
from planner.domain.access import ProjectAccess
from planner.domain.context import ProjectContext, load_context
from planner.domain.epics import (
    create_epic,
    milestones_of,
    progress_by_epic,
    set_epic_archived,
    update_epic,
)
from planner.signin import require_login
from planner.web.forms import EmptyForm, EpicForm, options, submit

bp = Blueprint("epics", __name__)
bp.before_request(require_login)


def _form(ctx: ProjectContext, milestones) -> EpicForm:
    form = EpicForm()
    form.stage.choices = options(
        [("", "No stage"), *((s.key, s.name) for s in ctx.stages.values() if not s.archived)]
    )
    form.milestone.choices = options(
        [("", "No milestone"), *((str(m.id), f"{m.name} ({m.baseline})") for m in milestones)]
    )
    return form


def _values(form: EpicForm) -> dict:
    return {
        "title": form.title.data or "",
        "description": form.description.data,
        "stage": form.stage.data,
        "milestone": form.milestone.data,
    }


@bp.route("/projects/<key>/epics", methods=["GET", "POST"])
@project_route(write="edit")
def index(access: ProjectAccess):
    session = db.session()
    ctx = load_context(session, access.project)
    milestones = milestones_of(session, access.project)
    form = _form(ctx, milestones)
    status = 200
    if request.method == "POST":
        outcome = submit(
            form,
            lambda: create_epic(session, ctx, _values(form)),
            done=lambda epic: f"Epic {epic.key} created.",
            then=url_for("epics.index", key=access.project.key),
        )
        if outcome.response:
            return outcome.response
        status = outcome.status
        ctx = load_context(session, access.project)
    show_archived = request.args.get("archived") == "1"
    epics = [e for e in ctx.epics.values() if show_archived or not e.archived]
    return (
        render_template(
            "epics/index.html",
            access=access,
            project=access.project,
            ctx=ctx,
            epics=epics,
            archived_count=sum(1 for e in ctx.epics.values() if e.archived),
            show_archived=show_archived,
            progress=progress_by_epic(session, access.project),
            milestones={m.id: m for m in milestones},
            form=form,
        ),
        status,
    )


@bp.route("/projects/<key>/epics/<epic_key>", methods=["GET", "POST"])
@project_route(write="edit")
def edit(access: ProjectAccess, epic_key: str):
    session = db.session()
    ctx = load_context(session, access.project)
    epic = ctx.epics.get(epic_key)
    if epic is None:
        abort(404)
    milestones = milestones_of(session, access.project)
    form = _form(ctx, milestones)
    status = 200
    if request.method == "GET":
        stage = ctx.stage_by_id(epic.stage_id)
        form.title.data, form.description.data = epic.title, epic.description or ""
        form.stage.data = stage.key if stage else ""
        form.milestone.data = str(epic.milestone_id) if epic.milestone_id else ""
    else:
        action = request.form.get("action", "save")
        if action in ("archive", "restore"):
            done = f"Epic {epic.key} {'archived' if action == 'archive' else 'restored'}."
            outcome = submit(
                form,
                lambda: set_epic_archived(session, epic, action == "archive"),
                done=done,
                then=url_for("epics.index", key=access.project.key),
            )
        else:
            outcome = submit(
                form,
                lambda: update_epic(session, ctx, epic, _values(form)),
                done=f"Epic {epic.key} saved.",
                then=url_for("epics.index", key=access.project.key),
            )
        if outcome.response:
            return outcome.response
        status = outcome.status
    return (
        render_template(
            "epics/edit.html",
            access=access,
            project=access.project,
            epic=epic,
            form=form,
            progress=progress_by_epic(session, access.project).get(epic.id),
            button=EmptyForm(),
        ),
        status,
    )
