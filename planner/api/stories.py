"""API: one story, read with its history, and changed with optimistic locking."""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user
from sqlalchemy import select

from planner import db
from planner.api import bp, schemas
from planner.api.projects import json_body
from planner.api.serialize import story_json
from planner.api.spec import answers, spec
from planner.authz import story_route
from planner.domain import StaleVersionError, ValidationError
from planner.domain.access import ProjectAccess
from planner.domain.context import load_context
from planner.domain.stories import update_story
from planner.errors import error_response
from planner.models import Story, StoryEvent
from planner.timeutil import utcnow


def _history(story_id: int) -> list[StoryEvent]:
    return list(
        db.session().scalars(
            select(StoryEvent)
            .where(StoryEvent.story_id == story_id)
            .order_by(StoryEvent.at, StoryEvent.id)
        )
    )


@bp.get("/stories/<story_key>")
@story_route()
@spec.validate(resp=answers(200, schemas.StoryOut, 404), tags=["stories"])
def story(access: ProjectAccess, story: Story):
    """A story with its `version` and its whole history."""
    ctx = load_context(db.session(), access.project)
    return jsonify(story_json(ctx, story, history=_history(story.id)))


@bp.patch("/stories/<story_key>")
@story_route(write="edit")
@spec.validate(
    json=schemas.StoryPatch,
    resp=answers(200, schemas.StoryOut, 400, 403, 404, 409, 422),
    tags=["stories"],
)
def patch_story(access: ProjectAccess, story: Story):
    """Change any fields of a story, based on `version`; a stale version answers 409 with the
    story as it is now in `error.details.current`."""
    session = db.session()
    ctx = load_context(session, access.project)
    data = dict(json_body())
    version = data.pop("version", None)
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValidationError({"version": "Send the version the change is based on, as a number."})
    try:
        update_story(session, ctx, story, data, by=current_user, now=utcnow(), base_version=version)
    except StaleVersionError as exc:
        session.rollback()
        current = session.scalar(select(Story).where(Story.id == story.id))
        body = story_json(ctx, current, history=_history(current.id))
        response, status = error_response(409, exc.message, {"current": body}, exc.code)
        return response, status
    session.commit()
    return jsonify(story_json(ctx, story, history=_history(story.id)))
