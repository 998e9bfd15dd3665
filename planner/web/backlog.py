"""The backlog: stories not in a closed sprint, section by section (the active sprint, planned
sprints, the backlog proper), filtered, grouped by epic on request, reordered and moved into
sprints; every action works without JavaScript."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from planner import db
from planner.authz import project_route
from planner.domain import parse_id
from planner.domain.access import ProjectAccess
from planner.domain.backlog import move_to_sprint, place, stories_by_keys
from planner.domain.context import ProjectContext, load_context
from planner.domain.story_filters import (
    BACKLOG_FILTERS,
    check_filters,
    filter_clauses,
    label_choices,
)
from planner.models import Epic, Sprint, Story
from planner.signin import require_login
from planner.timeutil import utcnow
from planner.web.auth import safe_next
from planner.web.forms import EmptyForm, QuickStoryForm, act, quick_create

bp = Blueprint("backlog", __name__)
bp.before_request(require_login)


@dataclass
class Section:
    """One list on the backlog page: a sprint's stories or the backlog proper."""

    title: str
    sprint: Sprint | None
    stories: list[Story]
    total_stories: int  # before filtering
    groups: list[tuple[Epic | None, list[Story]]] = field(default_factory=list)

    @property
    def target(self) -> str:
        return "backlog" if self.sprint is None else str(self.sprint.id)

    @property
    def points(self) -> int:
        return sum(s.points or 0 for s in self.stories)

    @property
    def unestimated(self) -> int:
        return sum(1 for s in self.stories if s.points is None)


def open_stories(session, project) -> list[Story]:
    """Return the project's stories that are not in a closed sprint, in rank order."""
    return list(
        session.scalars(
            select(Story)
            .outerjoin(Sprint, Sprint.id == Story.sprint_id)
            .where(Story.project_id == project.id)
            .where(or_(Story.sprint_id.is_(None), Sprint.state != "closed"))
            .options(selectinload(Story.labels))
            .order_by(Story.rank, Story.id)
        )
    )


def build_sections(
    ctx: ProjectContext, stories: list[Story], shown: set[int], group: str
) -> list[Section]:
    """The page's sections; `shown` holds the ids of the stories that pass the filters."""
    by_sprint: dict[int | None, list[Story]] = defaultdict(list)
    for story in stories:
        by_sprint[story.sprint_id].append(story)
    sprints = sorted(
        (s for s in ctx.sprints.values() if s.state != "closed"),
        key=lambda s: (s.state != "active", s.start_date, s.id),
    )
    sections = [
        Section(f"{s.name} ({s.state})", s, by_sprint.get(s.id, []), len(by_sprint.get(s.id, [])))
        for s in sprints
    ]
    sections.append(Section("Backlog", None, by_sprint.get(None, []), len(by_sprint.get(None, []))))
    for section in sections:
        section.stories = [s for s in section.stories if s.id in shown]
        if group == "epic":
            grouped: dict[int | None, list[Story]] = defaultdict(list)
            for story in section.stories:
                grouped[story.epic_id].append(story)
            section.groups = [
                (ctx.epic_by_id(epic_id), items)
                for epic_id, items in sorted(
                    grouped.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)
                )
            ]
    return sections


def _back(access: ProjectAccess) -> str:
    return safe_next(request.form.get("next")) or url_for("backlog.index", key=access.project.key)


@bp.route("/projects/<key>/backlog", methods=["GET", "POST"])
@project_route(write="edit")
def index(access: ProjectAccess):
    session = db.session()
    ctx = load_context(session, access.project)
    form = QuickStoryForm.for_project(ctx)
    status = 200
    if request.method == "POST":
        outcome = quick_create(
            ctx,
            form,
            done="{key} added to the bottom of the backlog.",
            then=lambda _: _back(access),
        )
        if outcome.response:
            return outcome.response
        status = outcome.status
        ctx = load_context(session, access.project)
    labels = label_choices(ctx)
    filters, filter_problems = check_filters(
        ctx, request.args, only=BACKLOG_FILTERS, labels=[x.name for x in labels]
    )
    group = "epic" if request.args.get("group") == "epic" else "none"
    stories = open_stories(session, access.project)
    shown = {s.id for s in stories}
    if filters:
        shown = set(
            session.scalars(
                select(Story.id).where(
                    Story.project_id == access.project.id,
                    *filter_clauses(ctx, filters, current_user.id),
                )
            )
        )
    sections = build_sections(ctx, stories, shown, group)
    return (
        render_template(
            "backlog/index.html",
            access=access,
            project=access.project,
            ctx=ctx,
            sections=sections,
            filters=filters,
            filter_problems=filter_problems,
            labels=labels,
            group=group,
            form=form,
            button=EmptyForm(),
            here=request.full_path.rstrip("?"),
        ),
        status,
    )


@bp.post("/projects/<key>/backlog/rank")
@project_route(write="manage")
def rank(access: ProjectAccess):
    """Move one story to the top, up or down of its section (the button pressed says which)."""
    text, _, action = (request.form.get("rank") or "").partition(":")
    number = parse_id(text)
    if number is None:
        abort(400, description="Say which story to move.")
    session = db.session()
    ctx = load_context(session, access.project)

    def rerank() -> None:
        (story,) = stories_by_keys(session, ctx, [number])
        place(session, story, action=action)

    return act(rerank, then=_back(access) + f"#s{number}")


@bp.post("/projects/<key>/backlog/move")
@project_route(write="manage")
def move(access: ProjectAccess):
    """Move the selected stories into a sprint, or back to the backlog."""
    session = db.session()
    ctx = load_context(session, access.project)
    numbers = [n for n in map(parse_id, request.form.getlist("story")) if n is not None]
    target = request.form.get("target") or ""
    if not numbers:
        flash("Select the stories to move first.", "error")
        return redirect(_back(access))
    sprint_id = None if target == "backlog" else parse_id(target)
    if target != "backlog" and sprint_id is None:
        flash("Choose where to move them.", "error")
        return redirect(_back(access))
    where = "the backlog" if sprint_id is None else getattr(ctx.sprints.get(sprint_id), "name", "")
    return act(
        lambda: move_to_sprint(
            session,
            ctx,
            stories_by_keys(session, ctx, numbers),
            sprint_id,
            by=current_user,
            now=utcnow(),
        ),
        done=lambda moved: f"Moved {moved} stor{'y' if moved == 1 else 'ies'} to {where}.",
        failed="Nothing moved: ",
        then=_back(access),
    )
