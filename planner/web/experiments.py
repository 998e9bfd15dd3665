"""The Experiments page: a project's experiment stories with their hypothesis, metric, target
and outcome, filtered by outcome in the URL (?outcome=refuted)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import func, select

from planner import db
from planner.authz import project_route
from planner.domain.access import ProjectAccess
from planner.domain.context import load_context
from planner.models import Story
from planner.signin import require_login
from planner.vocab import OUTCOMES

bp = Blueprint("experiments", __name__)
bp.before_request(require_login)

# The outcome filter's choices, in the order the page offers them; "none" is no outcome recorded.
FILTERS: dict[str, str] = {**OUTCOMES, "none": "No outcome"}


@bp.get("/projects/<key>/experiments")
@project_route(write="edit")
def index(access: ProjectAccess):
    """List the project's experiments, newest first; ?outcome= narrows them to one outcome."""
    session = db.session()
    ctx = load_context(session, access.project)
    wanted = request.args.get("outcome", "").strip()
    problem = None
    if wanted and wanted not in FILTERS:
        problem = (
            f"There is no outcome {wanted[:40]!r}: choose one of "
            f"{', '.join(FILTERS)}. Showing every experiment."
        )
        wanted = ""
    is_experiment = (Story.project_id == access.project.id) & (Story.type == "experiment")
    counts: dict[str, int] = dict.fromkeys(FILTERS, 0)
    for outcome, number in session.execute(
        select(Story.outcome, func.count()).where(is_experiment).group_by(Story.outcome)
    ):
        counts[outcome or "none"] += number
    query = select(Story).where(is_experiment).order_by(Story.number.desc())
    if wanted == "none":
        query = query.where(Story.outcome.is_(None))
    elif wanted:
        query = query.where(Story.outcome == wanted)
    experiments = list(session.scalars(query))
    return (
        render_template(
            "experiments/index.html",
            access=access,
            project=access.project,
            ctx=ctx,
            experiments=experiments,
            filters=FILTERS,
            counts=counts,
            total=sum(counts.values()),
            wanted=wanted,
            problem=problem,
        ),
        400 if problem else 200,
    )
