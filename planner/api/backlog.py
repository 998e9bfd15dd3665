"""API: reorder the backlog and move a story between sprints (drag and drop)."""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from planner import db
from planner.api import bp, schemas
from planner.api.projects import json_body
from planner.api.spec import answers, spec
from planner.authz import project_route
from planner.domain import ValidationError, parse_id
from planner.domain.access import ProjectAccess
from planner.domain.backlog import move_to_sprint, place, section_of, stories_by_keys
from planner.domain.context import load_context
from planner.timeutil import utcnow


def _number(value, field: str) -> int:
    number = parse_id(value) if isinstance(value, int) else None
    if not number:
        raise ValidationError({field: "Give the story's number, like 12 for FRAUD-12."})
    return number


@bp.post("/projects/<key>/backlog/reorder")
@project_route(write="manage")
@spec.validate(
    json=schemas.Reorder,
    resp=answers(200, schemas.Reordered, 400, 403, 404, 409, 422),
    tags=["backlog"],
)
def reorder(access: ProjectAccess):
    """{"story": 12, "target": "backlog" | sprint id, "before": 7 | null}: put story 12 in the
    target list, just above story 7 (at the bottom when before is null)."""
    data = json_body()
    session = db.session()
    ctx = load_context(session, access.project)
    number = _number(data.get("story"), "story")
    target = data.get("target")
    if target == "backlog":
        sprint_id = None
    elif parse_id(target) is not None:
        sprint_id = parse_id(target)
    else:
        raise ValidationError({"target": "Say 'backlog' or a sprint id."})
    (story,) = stories_by_keys(session, ctx, [number])
    move_to_sprint(session, ctx, [story], sprint_id, by=current_user, now=utcnow())
    before_number = data.get("before")
    before = None
    if before_number is not None:
        (before,) = stories_by_keys(session, ctx, [_number(before_number, "before")])
        if before.sprint_id != story.sprint_id:
            raise ValidationError({"before": "That story is in another list."})
    if before is not None:
        place(session, story, before=before)
    else:
        place(session, story, action="bottom")
    session.commit()
    order = [s.key_in(access.project.key) for s in section_of(session, story)]
    return jsonify(
        {"story": story.key_in(access.project.key), "sprint": story.sprint_id, "order": order}
    )
