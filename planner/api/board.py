"""API for the board: what changed since a moment, so clients refresh cheaply."""

from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user

from planner import db
from planner.api import bp, schemas
from planner.api.spec import answers, spec
from planner.authz import sprint_route
from planner.domain.access import ProjectAccess
from planner.domain.board import board_changes, board_filters, lane_key, since_of
from planner.domain.context import load_context
from planner.etags import board_poll
from planner.models import Sprint
from planner.timeutil import iso_utc, utcnow


@bp.get("/sprints/<int:sprint_id>/board")
@board_poll("api")  # nothing changed (If-None-Match): 304 after one query, planner/etags.py
@sprint_route()
@spec.validate(query=schemas.BoardQuery, resp=answers(200, schemas.Board, 404, 422), tags=["board"])
def board_changes_json(access: ProjectAccess, sprint: Sprint):
    """?since=ISO&lanes=&mine=&role=&stage= -> {"now", "cards": [{number, version}] of every card
    on the board, "changed": cards changed after `since` with their column and lane, "totals"}.
    Pass `now` back as the next `since`. The answer has a weak ETag: send it back as
    If-None-Match and, when nothing the board shows changed, the answer is 304 with no body (keep
    your `since`)."""
    session = db.session()
    ctx = load_context(session, access.project)
    view = board_filters(ctx, request.args)
    found = board_changes(
        session, ctx, sprint, view, current_user.id, since=since_of(request.args), now=utcnow()
    )
    key = access.project.key
    return jsonify(
        {
            "now": iso_utc(found.now),
            "cards": [{"number": s.number, "version": s.version} for s in found.cards],
            "changed": [
                {
                    "number": s.number,
                    "key": s.key_in(key),
                    "version": s.version,
                    "status": s.status,
                    "lane": lane_key(s, view["lanes"]),
                }
                for s in found.changed
            ],
            "totals": found.totals.as_json(),
        }
    )
