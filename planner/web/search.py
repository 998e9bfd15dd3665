"""The search page: one box in every signed-in page's header, results across the person's
projects, and a story key that jumps straight to the story."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from planner import db
from planner.domain.search import QUERY_MAX, Hit, search, visible_story
from planner.models import Membership, Project
from planner.signin import require_login

bp = Blueprint("search", __name__)
bp.before_request(require_login)

KIND_LABELS = {
    "story": "Story",
    "comment": "Comment",
    "epic": "Epic",
    "milestone": "Milestone",
    "risk": "Risk",
}


def hit_url(hit: Hit) -> str:
    """Return the page of what a hit found (a comment: its place on its story's page)."""
    key = hit.project_key
    if hit.kind == "story":
        return url_for("stories.show", key=key, number=hit.story_number)
    if hit.kind == "comment":
        page = url_for("stories.show", key=key, number=hit.story_number)
        return f"{page}#comment-{hit.ref_id}"
    if hit.kind == "epic":
        return url_for("epics.edit", key=key, epic_key=hit.epic_key)
    if hit.kind == "milestone":
        return url_for("milestones.show", key=key, milestone_id=hit.ref_id)
    return url_for("milestones.risk", key=key, risk_id=hit.ref_id)


@bp.get("/search")
def index():
    query = request.args.get("q", "")
    session = db.session()
    if len(query) <= QUERY_MAX:
        found = visible_story(session, current_user, query)
        if found is not None:
            project_key, story = found
            return redirect(url_for("stories.show", key=project_key, number=story.number))
    result = search(session, current_user, query)
    # Create from the search box: the projects where the person may add stories, for a "create
    # it" link with what they typed as the title (`c` follows the first one).
    writable = session.scalars(
        select(Project.key)
        .join(Membership, Membership.project_id == Project.id)
        .where(Membership.account_id == current_user.id, Membership.access != "view")
        .order_by(Project.key)
    ).all()
    page = render_template(
        "search/index.html",
        result=result,
        writable=writable if result.query and not result.problem else [],
        hit_url=hit_url,
        kind_labels=KIND_LABELS,
        query_max=QUERY_MAX,
    )
    return page, 422 if result.problem else 200
