"""An experiment's proposed outcome on its story page, and the form that confirms it.

The proposal is computed only here, on one experiment's page (never on lists or the board): it
reads each linked run from MLflow. Confirming is a plain form post that comes back to the page.
"""

from __future__ import annotations

from flask import Blueprint, abort, request, url_for
from flask_login import current_user
from sqlalchemy import select

from planner import db
from planner.authz import project_route
from planner.domain import DomainError
from planner.domain.access import ProjectAccess
from planner.domain.context import load_context
from planner.domain.outcomes import (
    Proposal,
    StaleProposal,
    confirm_outcome,
    latest_record,
    propose_outcome,
    run_label,
)
from planner.domain.targets import format_number
from planner.models import OutcomeRecord, Project, Story
from planner.signin import require_login
from planner.timeutil import utcnow
from planner.vocab import OUTCOMES
from planner.web.forms import act

bp = Blueprint("outcomes", __name__)
bp.before_request(require_login)


@bp.app_context_processor
def outcome_loaders() -> dict:
    """What templates/stories/_outcome_proposal.html calls: the proposal (one query and a read
    of each linked run) and the latest outcome record (one query)."""

    def story_outcome_proposal(story: Story, project: Project) -> Proposal | None:
        if story.type != "experiment" or story.project_id != project.id:
            return None
        return propose_outcome(db.session(), project, story)

    def story_outcome_record(story: Story) -> OutcomeRecord | None:
        return latest_record(db.session(), story) if story.outcome else None

    return {
        "story_outcome_proposal": story_outcome_proposal,
        "story_outcome_record": story_outcome_record,
        "run_label": run_label,
        "format_number": format_number,
    }


@bp.post("/projects/<key>/stories/<int:number>/outcome")
@project_route(write="edit")
def confirm(access: ProjectAccess, number: int):
    """Confirm the proposed outcome the page showed (hidden `outcome` and `run_id`)."""
    session = db.session()
    story = session.scalar(
        select(Story).where(Story.project_id == access.project.id, Story.number == number)
    )
    if story is None:
        abort(404)
    key = story.key_in(access.project.key)
    ctx = load_context(session, access.project)
    outcome = request.form.get("outcome", "")
    page = url_for("stories.show", key=access.project.key, number=number) + "#outcome-proposal"

    def confirm_it() -> OutcomeRecord:
        try:
            return confirm_outcome(
                session,
                ctx,
                story,
                outcome=outcome,
                run_id=request.form.get("run_id") or None,
                by=current_user,
                now=utcnow(),
            )
        except StaleProposal as stale:  # its details are the API's; a page shows the sentence
            raise DomainError(stale.message) from None

    return act(
        confirm_it,
        then=page,
        done=lambda record: (
            f"{key}: outcome {OUTCOMES[record.outcome].lower()}, decided by run "
            f"{run_label(record.run_id)}."
        ),
        failed=f"{key}: outcome not confirmed. ",
    )
