"""API: the signed-in person's projects, one project, its stories, its export."""

from __future__ import annotations

from flask import abort, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from planner import db
from planner.api import bp
from planner.api.serialize import project_json, sprint_json, story_json, token_json
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
def projects():
    return jsonify({"projects": [project_json(a) for a in projects_of(db.session(), current_user)]})


@bp.get("/projects/<key>")
@project_route()
def project(access: ProjectAccess):
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
    return jsonify(body)


@bp.route("/projects/<key>/stories", methods=["GET", "POST"])
@project_route(write="edit")
def stories(access: ProjectAccess):
    session = db.session()
    ctx = load_context(session, access.project)
    if request.method == "POST":
        story = create_story(session, ctx, json_body(), by=current_user, now=utcnow())
        session.commit()
        return jsonify(story_json(ctx, story, history=[])), 201
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


@bp.get("/projects/<key>/export")
@project_route()
def export(access: ProjectAccess):
    access.require("manage")
    return jsonify(export_project(db.session(), access.project))
