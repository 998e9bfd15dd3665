"""API: artefact links of stories, epics and milestones: list (with live MLflow details), add,
remove. Adding or removing needs the owner's write access: edit for a story or an epic, manage for
a milestone (as every milestone write)."""

from __future__ import annotations

from flask import abort, jsonify
from flask_login import current_user

from planner import db
from planner.api import bp, schemas
from planner.api.projects import json_body
from planner.api.spec import answers, spec
from planner.authz import milestone_route, project_route, resolve, story_route
from planner.domain import NotFoundError
from planner.domain.access import ProjectAccess
from planner.domain.context import load_context
from planner.domain.links import (
    LinkView,
    create_link,
    delete_link,
    find_link,
    links_of_owner,
    live,
    live_json,
    write_level,
)
from planner.models import Epic, Milestone, Project, Story
from planner.timeutil import utcnow


def owner_links_json(project: Project, owner: Story | Epic | Milestone) -> list[dict]:
    """The "links" of one story's, epic's or milestone's answer: one query, then live details."""
    return live_json(project, links_of_owner(db.session(), owner))


def _list(project: Project, owner) -> dict:
    return {"links": owner_links_json(project, owner)}


def _created(project: Project, owner) -> tuple:
    session = db.session()
    link = create_link(session, project, owner, json_body(), by=current_user, now=utcnow())
    session.commit()
    view: LinkView = live(project, [link])[0]
    return jsonify(view.as_json()), 201


def _epic(access: ProjectAccess, epic_key: str) -> Epic:
    epic = load_context(db.session(), access.project).epics.get(epic_key)
    if epic is None:
        abort(404)
    return epic


_CREATE = answers(201, schemas.LinkOut, 400, 403, 404, 422)


@bp.get("/stories/<story_key>/links")
@story_route()
@spec.validate(resp=answers(200, schemas.LinkList, 404), tags=["links"])
def story_links(access: ProjectAccess, story: Story):
    """The story's artefact links, each with live details (`details`) or why not (`error`)."""
    return jsonify(_list(access.project, story))


@bp.post("/stories/<story_key>/links")
@story_route(write="edit")
@spec.validate(json=schemas.LinkCreate, resp=_CREATE, tags=["links"])
def add_story_link(access: ProjectAccess, story: Story):
    """Link an artefact: {"kind": "mlflow_run", "run_id": "…"} (or "url": the run's MLflow UI
    address), mlflow_model_version {name, version}, dataset {uri, version}, commit {url},
    document {url, title}. A link the story already holds answers 422."""
    return _created(access.project, story)


@bp.get("/projects/<key>/epics/<epic_key>/links")
@project_route()
@spec.validate(resp=answers(200, schemas.LinkList, 404), tags=["links"])
def epic_links(access: ProjectAccess, epic_key: str):
    """The epic's artefact links, with live details."""
    return jsonify(_list(access.project, _epic(access, epic_key)))


@bp.post("/projects/<key>/epics/<epic_key>/links")
@project_route(write="edit")
@spec.validate(json=schemas.LinkCreate, resp=_CREATE, tags=["links"])
def add_epic_link(access: ProjectAccess, epic_key: str):
    """Link an artefact to the epic (the same bodies as a story's links)."""
    return _created(access.project, _epic(access, epic_key))


@bp.get("/milestones/<int:milestone_id>/links")
@milestone_route()
@spec.validate(resp=answers(200, schemas.LinkList, 404), tags=["links"])
def milestone_links(access: ProjectAccess, milestone: Milestone):
    """The milestone's artefact links, with live details."""
    return jsonify(_list(access.project, milestone))


@bp.post("/milestones/<int:milestone_id>/links")
@milestone_route(write="manage")
@spec.validate(json=schemas.LinkCreate, resp=_CREATE, tags=["links"])
def add_milestone_link(access: ProjectAccess, milestone: Milestone):
    """Link an artefact to the milestone (manage access; the same bodies as a story's links)."""
    return _created(access.project, milestone)


@bp.delete("/links/<int:link_id>")
@spec.validate(resp=answers(204, None, 403, 404), tags=["links"])
def remove_link(link_id: int):
    """Remove a link (204): edit access for a story's or an epic's, manage for a milestone's."""
    session = db.session()
    try:
        link, project_key = find_link(session, link_id)
    except NotFoundError:
        abort(404)
    resolve(project_key, write=write_level(link))  # outsiders 404, too little access 403
    delete_link(session, link)
    session.commit()
    return "", 204
