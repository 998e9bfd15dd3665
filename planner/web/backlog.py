"""The backlog: stories not in a closed sprint, section by section (the active sprint, planned
sprints, the backlog proper), filtered, grouped by epic on request, reordered and moved into
sprints; every action works without JavaScript.

A big project stays small on the wire: the active sprint and the next planned one are drawn
whole, later planned sprints fold to their totals (?open=SPRINT_ID draws one), the backlog
proper is drawn PAGE_SIZE rows a page (?page=N). Totals always count every story."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlencode

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm.attributes import set_committed_value

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
from planner.models import Epic, Label, Sprint, Story
from planner.models.story import story_label
from planner.pagecache import kept_page
from planner.signin import require_login
from planner.timeutil import utcnow
from planner.web.auth import safe_next
from planner.web.forms import EmptyForm, QuickStoryForm, act, quick_create

bp = Blueprint("backlog", __name__)
bp.before_request(require_login)


# The backlog proper shows this many rows a page; a filtered page whose matches are this few in
# all shows every match, every sprint open.
PAGE_SIZE = 100


@dataclass(frozen=True)
class Line:
    """What the page counts of a story it may not show: totals are over every story."""

    id: int
    number: int
    sprint_id: int | None
    points: int | None


@dataclass
class Section:
    """One list on the backlog page: a sprint's stories or the backlog proper. `matching` holds
    every story of the section that passes the filters (its totals); `rows` the ones drawn."""

    title: str
    sprint: Sprint | None
    matching: list[Line]
    total_stories: int  # before filtering
    collapsed: bool = False
    start: int = 0  # index in `matching` of the first row drawn
    limit: int | None = None  # how many rows are drawn from `start` (None: all)
    rows: list[Story] = field(default_factory=list)
    groups: list[tuple[Epic | None, list[Story]]] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)  # open, hide, previous, next

    @property
    def target(self) -> str:
        return "backlog" if self.sprint is None else str(self.sprint.id)

    @property
    def count(self) -> int:
        return len(self.matching)

    @property
    def points(self) -> int:
        return sum(s.points or 0 for s in self.matching)

    @property
    def unestimated(self) -> int:
        return sum(1 for s in self.matching if s.points is None)

    @property
    def paged(self) -> bool:
        return self.limit is not None and self.count > self.limit

    @property
    def drawn(self) -> list[Line]:
        if self.collapsed:
            return []
        if self.limit is None:
            return self.matching
        return self.matching[self.start : self.start + self.limit]


def open_lines(session, project) -> list[Line]:
    """The project's stories that are not in a closed sprint, in rank order: the few columns the
    totals need (one query, whatever the size)."""
    return [
        Line(*row)
        for row in session.execute(
            select(Story.id, Story.number, Story.sprint_id, Story.points)
            .outerjoin(Sprint, Sprint.id == Story.sprint_id)
            .where(Story.project_id == project.id)
            .where(or_(Story.sprint_id.is_(None), Sprint.state != "closed"))
            .order_by(Story.rank, Story.id)
        )
    ]


def load_rows(session, ids: list[int]) -> dict[int, Story]:
    """The stories the page draws, with their labels: two queries, whatever the number."""
    if not ids:
        return {}
    stories = {s.id: s for s in session.scalars(select(Story).where(Story.id.in_(ids)))}
    labels: dict[int, list[Label]] = defaultdict(list)
    for story_id, label in session.execute(
        select(story_label.c.story_id, Label)
        .join(Label, Label.id == story_label.c.label_id)
        .where(story_label.c.story_id.in_(ids))
        .order_by(Label.name, Label.id)
    ):
        labels[story_id].append(label)
    for story in stories.values():
        set_committed_value(story, "labels", labels.get(story.id, []))
    return stories


@dataclass
class View:
    """What the query string asks of the backlog: open sprints, the page of the backlog proper."""

    opened: set[int]
    page: int
    problems: dict[str, str]


def read_view(args) -> View:
    problems: dict[str, str] = {}
    opened = set()
    for text in args.getlist("open"):
        number = parse_id(text)
        if number is None:
            problems["open"] = f"open={text[:40]} names no sprint."
        else:
            opened.add(number)
    page = 1
    if args.get("page"):
        number = parse_id(args["page"])
        if not number:  # None, or page 0
            problems["page"] = (
                f"page={args['page'][:40]} is not a page number: the first page shows."
            )
        else:
            page = number
    return View(opened, page, problems)


def build_sections(
    ctx: ProjectContext,
    lines: list[Line],
    shown: set[int] | None,
    view: View,
    *,
    filtered: bool,
) -> list[Section]:
    """The page's sections, each with the rows it draws; `shown` holds the ids of the stories
    that pass the filters (None: no filter). The active sprint and the next planned one are open;
    other planned sprints fold to their totals unless asked for (?open=ID); the backlog proper
    shows PAGE_SIZE rows a page (?page=N). A filtered result of PAGE_SIZE stories or fewer shows
    whole."""
    by_sprint: dict[int | None, list[Line]] = defaultdict(list)
    for line in lines:
        by_sprint[line.sprint_id].append(line)
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
        if shown is not None:
            section.matching = [s for s in section.matching if s.id in shown]
    whole = filtered and sum(s.count for s in sections) <= PAGE_SIZE
    next_planned = next((s.id for s in sprints if s.state == "planned"), None)
    for section in sections:
        sprint = section.sprint
        if sprint is not None:
            section.collapsed = not (
                whole or sprint.state == "active" or sprint.id == next_planned
            ) and (sprint.id not in view.opened)
        elif not whole:
            section.limit = PAGE_SIZE
            pages = max(1, -(-section.count // PAGE_SIZE))
            if view.page > pages:
                view.problems["page"] = (
                    f"The backlog has {pages} page{'s' if pages != 1 else ''} of {PAGE_SIZE}: "
                    "the last one shows."
                )
            section.start = (min(view.page, pages) - 1) * PAGE_SIZE
    return sections


def fill_sections(session, ctx: ProjectContext, sections: list[Section], group: str) -> None:
    """Load the stories each section draws (one query for all, one for their labels)."""
    stories = load_rows(session, [line.id for section in sections for line in section.drawn])
    for section in sections:
        section.rows = [stories[line.id] for line in section.drawn]
        if group == "epic":
            grouped: dict[int | None, list[Story]] = defaultdict(list)
            for story in section.rows:
                grouped[story.epic_id].append(story)
            section.groups = [
                (ctx.epic_by_id(epic_id), items)
                for epic_id, items in sorted(
                    grouped.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)
                )
            ]


def section_links(key: str, args, sections: list[Section], view: View) -> None:
    """The links that open and fold sprints and turn the backlog's pages, keeping the rest of
    the query string (filters, grouping, the other open sprints)."""
    base = [(k, v) for k, v in args.items(multi=True) if k not in ("open", "page")]
    opened = sorted(view.opened)

    def link(opened: list[int], page: int, anchor: str) -> str:
        query = [*base, *(("open", str(n)) for n in opened)]
        if page > 1:
            query.append(("page", str(page)))
        return (
            url_for("backlog.index", key=key)
            + ("?" + urlencode(query) if query else "")
            + f"#sec-{anchor}"
        )

    page = view.page
    for section in sections:
        target = section.target
        if section.sprint is not None:
            number = section.sprint.id
            if section.collapsed:
                section.links["open"] = link([*opened, number], page, target)
            elif number in view.opened:
                section.links["hide"] = link([n for n in opened if n != number], page, target)
        elif section.paged:
            current = section.start // PAGE_SIZE + 1
            if section.start > 0:
                section.links["previous"] = link(opened, current - 1, target)
            if section.start + PAGE_SIZE < section.count:
                section.links["next"] = link(opened, current + 1, target)


def _back(access: ProjectAccess) -> str:
    return safe_next(request.form.get("next")) or url_for("backlog.index", key=access.project.key)


@bp.route("/projects/<key>/backlog", methods=["GET", "POST"])
@project_route(write="edit")
@kept_page
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
    view = read_view(request.args)
    lines = open_lines(session, access.project)
    shown = None
    if filters:
        shown = set(
            session.scalars(
                select(Story.id).where(
                    Story.project_id == access.project.id,
                    *filter_clauses(ctx, filters, current_user.id),
                )
            )
        )
    sections = build_sections(ctx, lines, shown, view, filtered=bool(filters))
    fill_sections(session, ctx, sections, group)
    section_links(access.project.key, request.args, sections, view)
    return (
        render_template(
            "backlog/index.html",
            access=access,
            project=access.project,
            ctx=ctx,
            sections=sections,
            filters=filters,
            filter_problems={**filter_problems, **view.problems},
            labels=labels,
            group=group,
            form=form,
            button=EmptyForm(),
            here=request.full_path.rstrip("?"),
            story_url=url_for("stories.show", key=access.project.key, number=0)[:-1],
            page_size=PAGE_SIZE,
        ),
        status,
    )


@bp.post("/projects/<key>/backlog/rank")
@project_route(write="manage")
def rank(access: ProjectAccess):
    return _rank(access)


def _rank(access: ProjectAccess):
    """Move stories to the top or bottom of their section, or one place up or down: either one
    story (rank=NUMBER:ACTION) or the ticked ones (rank=ACTION with story=NUMBER...)."""
    text, _, action = (request.form.get("rank") or "").rpartition(":")
    if text:
        numbers = [parse_id(text)]
    else:
        numbers = [parse_id(n) for n in request.form.getlist("story")]
    if not numbers or None in numbers:
        flash("Select the stories to reorder first.", "error")
        return redirect(_back(access))
    session = db.session()
    ctx = load_context(session, access.project)

    def rerank() -> None:
        stories = stories_by_keys(session, ctx, numbers)  # in rank order
        if action in ("top", "down"):  # the last first, so that they keep their order
            stories.reverse()
        for story in stories:
            place(session, story, action=action)

    return act(rerank, then=_back(access) + f"#s{min(numbers)}")


@bp.post("/projects/<key>/backlog/move")
@project_route(write="manage")
def move(access: ProjectAccess):
    """Move the selected stories into a sprint, or back to the backlog; the reorder buttons of
    the same form (rank=ACTION) reorder them instead."""
    if request.form.get("rank"):
        return _rank(access)
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
