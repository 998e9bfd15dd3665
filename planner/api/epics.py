"""API: epics, with their progress; create, change, archive, and delete an epic no story uses."""

from __future__ import annotations

from flask import abort, jsonify

from planner import db
from planner.api import bp, schemas
from planner.api.links import owner_links_json
from planner.api.projects import json_body
from planner.api.spec import answers, spec
from planner.authz import project_route
from planner.domain.access import ProjectAccess
from planner.domain.context import ProjectContext, load_context
from planner.domain.epics import (
    Progress,
    create_epic,
    delete_epic,
    progress_by_epic,
    set_epic_archived,
    update_epic,
)
from planner.models import Epic


def epic_json(ctx: ProjectContext, epic: Epic, progress: Progress) -> dict:
    stage = ctx.stage_by_id(epic.stage_id)
    return {
        "key": epic.key,
        "title": epic.title,
        "description": epic.description,
        "stage": stage.key if stage else None,
        "milestone": epic.milestone_id,
        "archived": epic.archived,
        "progress": {
            "points_done": progress.points_done,
            "points_total": progress.points_total,
            "stories_done": progress.stories_done,
            "stories_total": progress.stories_total,
            "unestimated": progress.unestimated,
            "percent": progress.percent,
        },
    }


def _epic(ctx: ProjectContext, epic_key: str) -> Epic:
    epic = ctx.epics.get(epic_key)
    if epic is None:
        abort(404)
    return epic


def _one(access: ProjectAccess, ctx: ProjectContext, epic: Epic) -> dict:
    progress = progress_by_epic(db.session(), access.project).get(epic.id, Progress())
    return epic_json(ctx, epic, progress)


@bp.get("/projects/<key>/epics")
@project_route()
@spec.validate(resp=answers(200, schemas.EpicList, 404), tags=["epics"])
def epics(access: ProjectAccess):
    """The project's epics (archived ones too, marked), each with its progress."""
    session = db.session()
    ctx = load_context(session, access.project)
    progress = progress_by_epic(session, access.project)
    return jsonify(
        {
            "epics": [
                epic_json(ctx, epic, progress.get(epic.id, Progress()))
                for epic in sorted(ctx.epics.values(), key=lambda e: e.id)
            ]
        }
    )


@bp.post("/projects/<key>/epics")
@project_route(write="edit")
@spec.validate(
    json=schemas.EpicCreate,
    resp=answers(201, schemas.EpicOut, 400, 403, 404, 422),
    tags=["epics"],
)
def create_epic_json(access: ProjectAccess):
    """Add an epic; it gets the next key (E1, E2, ...)."""
    session = db.session()
    ctx = load_context(session, access.project)
    epic = create_epic(session, ctx, json_body())
    session.commit()
    return jsonify(_one(access, ctx, epic)), 201


@bp.get("/projects/<key>/epics/<epic_key>")
@project_route()
@spec.validate(resp=answers(200, schemas.EpicOut, 404), tags=["epics"])
def epic(access: ProjectAccess, epic_key: str):
    """An epic with its progress and its artefact links (live details)."""
    ctx = load_context(db.session(), access.project)
    found = _epic(ctx, epic_key)
    return jsonify({**_one(access, ctx, found), "links": owner_links_json(access.project, found)})


@bp.patch("/projects/<key>/epics/<epic_key>")
@project_route(write="edit")
@spec.validate(
    json=schemas.EpicPatch,
    resp=answers(200, schemas.EpicOut, 400, 403, 404, 422),
    tags=["epics"],
)
def update_epic_json(access: ProjectAccess, epic_key: str):
    """Change an epic's title, description, stage or milestone; archive or restore it."""
    session = db.session()
    ctx = load_context(session, access.project)
    found = _epic(ctx, epic_key)
    values = dict(json_body())
    archived = values.pop("archived", None)
    update_epic(session, ctx, found, values)
    if archived is not None:
        set_epic_archived(session, found, archived)
    session.commit()
    return jsonify(_one(access, ctx, found))


@bp.delete("/projects/<key>/epics/<epic_key>")
@project_route(write="edit")
@spec.validate(resp=answers(204, None, 403, 404, 409), tags=["epics"])
def delete_epic_json(access: ProjectAccess, epic_key: str):
    """Delete an epic no story belongs to (204); one with stories answers 409: archive it."""
    session = db.session()
    ctx = load_context(session, access.project)
    delete_epic(session, _epic(ctx, epic_key))
    session.commit()
    return "", 204
