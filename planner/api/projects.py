"""API: the signed-in person's projects, one project, its stories, its export."""

from __future__ import annotations

import base64

from flask import abort, jsonify, request
from flask_login import current_user
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from planner import db
from planner.api import bp, schemas
from planner.api.serialize import project_json, sprint_json, story_json, token_json
from planner.api.spec import answers, spec
from planner.authz import project_route
from planner.domain import ValidationError, parse_id
from planner.domain.access import ProjectAccess, projects_of
from planner.domain.context import load_context
from planner.domain.stories import create_story
from planner.domain.story_filters import API_FILTERS, filter_clauses, read_filters
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
    body["mlflow_tracking_uri"] = access.project.mlflow_tracking_uri
    body["enforce_gates"] = access.project.enforce_gates
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
    """The project's stories in rank order, filtered, a page at a time (`limit`, then the
    `next_cursor` of each answer as `cursor`)."""
    session = db.session()
    ctx = load_context(session, access.project)
    filters = read_filters(ctx, request.args, strict=True, only=API_FILTERS)
    query = (
        select(Story)
        .where(
            Story.project_id == access.project.id,
            *filter_clauses(ctx, filters, current_user.id),
        )
        .options(selectinload(Story.labels))
    )
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
    limit = _page_size(request.args.get("limit"))
    after = _cursor(request.args.get("cursor"))
    if after is not None:
        rank, story_id = after
        query = query.where(or_(Story.rank > rank, and_(Story.rank == rank, Story.id > story_id)))
    rows = list(session.scalars(query.order_by(Story.rank, Story.id).limit(limit + 1)))
    page, more = rows[:limit], len(rows) > limit
    next_cursor = _encode_cursor(page[-1]) if more else None
    return jsonify({"stories": [story_json(ctx, s) for s in page], "next_cursor": next_cursor})


PAGE_DEFAULT, PAGE_MAX = 200, 500


def _page_size(text: str | None) -> int:
    if text is None:
        return PAGE_DEFAULT
    size = parse_id(text)
    if size is None or not 1 <= size <= PAGE_MAX:
        raise ValidationError({"limit": f"Ask for 1 to {PAGE_MAX} stories a page."})
    return size


def _encode_cursor(story: Story) -> str:
    """Where the next page starts: after this story in (rank, id) order, as opaque text."""
    return base64.urlsafe_b64encode(f"{story.rank}:{story.id}".encode()).decode().rstrip("=")


def _cursor(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        rank, story_id = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode().split(":")
        rank, story_id = int(rank), int(story_id)
        if not (-(2**31) <= rank < 2**31 and 0 < story_id < 2**31):  # database integers
            raise ValueError
        return rank, story_id
    except (ValueError, UnicodeDecodeError):
        raise ValidationError(
            {"cursor": "Send the next_cursor of the previous page as it came."}
        ) from None


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
