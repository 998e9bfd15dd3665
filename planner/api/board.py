"""API for the board: what changed since a moment, so open boards refresh themselves cheaply."""

from __future__ import annotations

from flask import jsonify, render_template, request
from flask_login import current_user

from planner import db
from planner.api import bp
from planner.authz import resolve_sprint
from planner.domain import ValidationError
from planner.domain.board import board_cards, board_filters, lane_key
from planner.domain.context import load_context
from planner.timeutil import iso_utc, parse_iso_datetime, utcnow


@bp.get("/sprints/<int:sprint_id>/board")
def board_changes(sprint_id: int):
    """?since=ISO&lanes=&mine=&role=&stage= -> {"now", "cards": [{number, version}] of every card
    on the board, "changed": cards changed after `since` with their column, lane and HTML}.
    The board polls this every few seconds and passes back `now` as the next `since`."""
    access, sprint = resolve_sprint(sprint_id)
    since_text = request.args.get("since")
    since = None
    if since_text:
        try:
            since = parse_iso_datetime(since_text)
        except ValueError as exc:
            raise ValidationError({"since": str(exc)}) from None
    now = utcnow()
    session = db.session()
    ctx = load_context(session, access.project)
    view = board_filters(ctx, request.args)
    cards = board_cards(session, ctx, sprint, view, current_user.id)
    changed = [s for s in cards if since is None or s.updated_at > since]
    return jsonify(
        {
            "now": iso_utc(now),
            "cards": [{"number": s.number, "version": s.version} for s in cards],
            "changed": [
                {
                    "number": s.number,
                    "version": s.version,
                    "status": s.status,
                    "lane": lane_key(s, view["lanes"]),
                    "html": render_template(
                        "board/_card.html",
                        s=s,
                        ctx=ctx,
                        project=access.project,
                        access=access,
                        here=request.args.get("here", ""),
                    ),
                }
                for s in changed
            ],
        }
    )
