"""API: the signed-in person's projects, one project, its stories, its export."""

from __future__ import annotations

from flask import abort, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from planner import db
from planner.api import bp, schemas
from planner.api.serialize import project_json, sprint_json, story_json, token_json
from planner.api.spec import answers, spec
from planner.authz import project_route
from planner.domain import ValidationError, parse_id
from planner.domain.access import ProjectAccess, projects_of
from planner.domain.context import load_context
from planner.domain.stories import create_story
from planner.interchange.export import export_project
from planner.models import Story
from planner.signin import current_bearer
from planner.timeutil import utcnow
from planner.vocab import STATUSES


def json_body() -> dict:
    """Return the request's JSON object, or answer 400 (422) saying what is wrong with it and
    where (planner.requests reads it through planner.inputs.parse_json)."""
    if not request.is_json:
        abort(400, description="Send a JSON object with Content-Type: application/json.")
    data = request.get_json()
    if not isinstance(data, dict):
        abort(400, description="Send a JSON object with Content-Type: application/json.")
    return data


@bp.get("/me")
@spec.validate(resp=answers(200, schemas.Me), tags=["people"])
def me():
    """Who the API takes you for, and the token you sent (null with a browser session)."""
    bearer = current_bearer()
    return jsonify(
        {
            "email": current_user.email,
            "name": current_user.name,
            "is_admin": current_user.is_admin,
            "token": token_json(bearer.token) if bearer else None,
        }
    )


@bp.get("/projects")
@spec.validate(resp=answers(200, schemas.ProjectList), tags=["projects"])
def projects():
    """Your projects, with your access and roles in each."""
    return jsonify({"projects": [project_json(a) for a in projects_of(db.session(), current_user)]})


@bp.get("/projects/<key>")
@project_route()
@spec.validate(resp=answers(200, schemas.ProjectDetail, 404), tags=["projects"])
def project(access: ProjectAccess):
    """A project's settings, stages, members and sprints."""
    return jsonify(project_detail(access))


def project_detail(access: ProjectAccess) -> dict:
    session = db.session()
    ctx = load_context(session, access.project)
    body = project_json(access)
    body["stages"] = [
        {"key": s.key, "name": s.name, "archived": s.archived} for s in ctx.stages.values()
    ]
    body["members"] = [
        {"email": m.account.email, "name": m.account.name, "access": m.access, "roles": m.roles}
        for m in sorted(ctx.members.values(), key=lambda m: m.account.email)
    ]
    body["sprints"] = [sprint_json(s) for s in ctx.sprints.values()]
    return body


@bp.get("/projects/<key>/stories")
@project_route(write="edit")
@spec.validate(
    query=schemas.StoryQuery, resp=answers(200, schemas.StoryList, 404, 422), tags=["stories"]
)
def stories(access: ProjectAccess):
    """The project's stories in rank order, filtered by status and sprint."""
    session = db.session()
    ctx = load_context(session, access.project)
    query = select(Story).where(Story.project_id == access.project.id)
    status = request.args.get("status")
    if status is not None:
        if status not in STATUSES:
            raise ValidationError({"status": f"Choose a status: {', '.join(STATUSES)}."})
        query = query.where(Story.status == status)
    sprint = request.args.get("sprint")
    if sprint is not None:
        if sprint == "backlog":
            query = query.where(Story.sprint_id.is_(None))
        elif parse_id(sprint) is not None:
            query = query.where(Story.sprint_id == parse_id(sprint))
        else:
            raise ValidationError({"sprint": "Use a sprint id or 'backlog'."})
    rows = session.scalars(query.order_by(Story.rank, Story.id))
    return jsonify({"stories": [story_json(ctx, s) for s in rows]})


@bp.post("/projects/<key>/stories")
@project_route(write="edit")
@spec.validate(
    json=schemas.StoryCreate,
    resp=answers(201, schemas.StoryOut, 400, 403, 404, 409, 422),
    tags=["stories"],
)
def create_story_json(access: ProjectAccess):
    """Create a story (at the bottom of the backlog, or of its sprint)."""
    session = db.session()
    ctx = load_context(session, access.project)
    story = create_story(session, ctx, json_body(), by=current_user, now=utcnow())
    session.commit()
    return jsonify(story_json(ctx, story, history=[])), 201


@bp.get("/projects/<key>/export")
@project_route()
@spec.validate(resp=answers(200, schemas.Export, 403, 404), tags=["projects"])
def export(access: ProjectAccess):
    """The whole project in the interchange format (manage access; docs/export-format.md)."""
    access.require("manage")
    return jsonify(export_project(db.session(), access.project))
