"""API: the outcome planner proposes for an experiment from its linked MLflow runs, and a
person's confirmation of it (docs/api.md, "Experiment outcomes")."""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from planner import db
from planner.api import bp, schemas
from planner.api.projects import json_body
from planner.api.serialize import story_json
from planner.api.spec import answers, spec
from planner.api.stories import _history, _with_parts
from planner.authz import story_route
from planner.domain.access import ProjectAccess
from planner.domain.context import load_context
from planner.domain.outcomes import confirm_outcome, propose_outcome
from planner.models import Story
from planner.timeutil import utcnow


@bp.get("/stories/<story_key>/outcome-proposal")
@story_route()
@spec.validate(resp=answers(200, schemas.OutcomeProposal, 404), tags=["experiments"])
def outcome_proposal(access: ProjectAccess, story: Story):
    """What the experiment's linked runs say: confirmed, refuted or inconclusive, with the run
    and value that decide it and a reason. Changes nothing. A story that is not an experiment
    is inconclusive, and the reason says so."""
    return jsonify(propose_outcome(db.session(), access.project, story).as_json())


@bp.post("/stories/<story_key>/outcome")
@story_route(write="edit")
@spec.validate(
    json=schemas.OutcomeConfirm,
    resp=answers(200, schemas.StoryOut, 400, 403, 404, 409, 422),
    tags=["experiments"],
)
def confirm(access: ProjectAccess, story: Story):
    """Confirm the proposal you read (`outcome` and `run_id` as it showed them): planner
    computes it again, sets the story's outcome and records the run and value that decided it.
    A proposal that has changed since answers 409 with the current one in
    `error.details.current`; an inconclusive one cannot be confirmed (422)."""
    session = db.session()
    ctx = load_context(session, access.project)
    body = json_body()
    confirm_outcome(
        session,
        ctx,
        story,
        outcome=body.get("outcome"),
        run_id=body.get("run_id"),
        by=current_user,
        now=utcnow(),
    )
    session.commit()
    return jsonify(_with_parts(story_json(ctx, story, history=_history(story.id)), story))
