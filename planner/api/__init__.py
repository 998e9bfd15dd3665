"""The JSON API under /api/v1: parse, call the domain, serialize. A personal access token
(Authorization: Bearer) or a signed-in session whose writes carry the X-CSRFToken header
(planner/signin.py decides which)."""

from __future__ import annotations

from flask import Blueprint

from planner.signin import require_api_user

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.before_request(require_api_user)

from planner.api import (  # noqa: E402,F401  (routes register on bp)
    audit,
    backlog,
    board,
    dependencies,
    epics,
    gates,
    links,
    milestones,
    notify,
    outcomes,
    projects,
    risks,
    sharing,
    sprints,
    stories,
    team,
)
