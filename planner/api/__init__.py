"""The JSON API under /api/v1: parse, call the domain, serialize. Signed-in session for now;
writes need the X-CSRFToken header (CSRFProtect checks it like a form field)."""

from __future__ import annotations

from flask import Blueprint

from planner.signin import require_login

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.before_request(require_login)

from planner.api import (  # noqa: E402,F401  (routes register on bp)
    backlog,
    board,
    milestones,
    projects,
    sprints,
    stories,
)
