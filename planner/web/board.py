"""The team board (status columns, swimlanes, filters, one-gesture moves), comments on a story,
and "My work": a person's open stories across projects."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from planner import db
from planner.authz import project_route
from planner.domain import AccessDenied, parse_id
from planner.domain.access import TALK, ProjectAccess
from planner.domain.board import (
    BOARD_PREFERENCE,
    add_comment,
    board_cards,
    board_changes,
    board_filters,
    board_totals,
    delete_comment,
    lane_key,
    lanes_of,
    open_work,
    since_of,
)
from planner.domain.context import ProjectContext, load_context
from planner.domain.dependencies import card_parts
from planner.domain.gates import gate_warnings
from planner.domain.sprints import choose_sprint
from planner.domain.stories import create_story, update_story
from planner.etags import board_poll
from planner.models import Comment, Story
from planner.pagecache import kept_page
from planner.signin import require_login
from planner.timeutil import iso_utc, local_date, utcnow
from planner.vocab import POINTS_SCALE, STATUSES
from planner.web.auth import safe_next
from planner.web.forms import EmptyForm, act

bp = Blueprint("board", __name__)
bp.before_request(require_login)


@bp.get("/projects/<key>/board")
@project_route(write="edit")
@kept_page
def index(access: ProjectAccess):
    session = db.session()
    project = access.project
    ctx = load_context(session, project)
    sprint = choose_sprint(ctx.sprints.values(), request.args.get("sprint"), BOARD_PREFERENCE)
    view = board_filters(ctx, request.args)
    cards = board_cards(session, ctx, sprint, view, current_user.id) if sprint else []
    now = utcnow()
    totals = board_totals(cards, view)
    today = local_date(now, project.timezone)
    query = [(k, v) for k, v in request.args.items(multi=True) if k != "move"]
    here = request.path + ("?" + urlencode(query) if query else "")
    move, move_problem = None, None
    if request.args.get("move") and access.can_edit:
        move = parse_id(request.args["move"])
        if move is None or move not in {s.number for s in cards}:
            move_problem = f"{project.key}-{request.args['move'][:20]} is not a card of this board."
            move = None
    return render_template(
        "board/index.html",
        access=access,
        project=project,
        ctx=ctx,
        sprint=sprint,
        view=view,
        lanes=lanes_of(cards, ctx, view["lanes"]),
        totals=totals,
        today=today,
        now_iso=iso_utc(now),
        here=here,
        query=urlencode(query),
        choices=edit_choices(ctx),
        move_problem=move_problem,
        p=board_page(
            access,
            here=here,
            query=urlencode(query),
            move=move,
            parts=card_parts(session, [s.id for s in cards], current_user),  # story_parts
            warnings=gate_warnings(session, ctx, cards),  # gates
        ),
    )


def board_page(access: ProjectAccess, *, here: str, query: str, move: int | None, parts, warnings):
    """What every card of the page shares, built once (board/_cards.html): the URL prefixes, the
    reader's right to move, the card whose status form is drawn (?move=NUMBER), and what the
    story parts and gates say per story."""
    key = access.project.key
    return {
        "key": key,
        "url": url_for("stories.show", key=key, number=0)[:-1],
        "board": url_for("board.index", key=key),
        "edit": access.can_edit,
        "move": move,
        "move_href": "?" + (query + "&" if query else "") + "move=",
        "here": here,
        "parts": parts,
        "warnings": warnings,
    }


def edit_choices(ctx: ProjectContext) -> dict[str, list[list[str]]]:
    """What the in-place editors of a card offer (board.js): points, stages, people taking work."""
    return {
        "points": [["", "Unestimated"], *([str(p), str(p)] for p in POINTS_SCALE)],
        "stage": [
            ["", "No stage"],
            *([s.key, s.name] for s in ctx.stages.values() if not s.archived),
        ],
        "assignee": [
            ["", "Nobody"],
            *(
                [str(m.account_id), m.account.name]
                for m in sorted(ctx.members.values(), key=lambda m: m.account.name.lower())
                if m.access != "view"
            ),
        ],
    }


@bp.get("/projects/<key>/board/changes")
@board_poll("page")  # nothing changed (If-None-Match): 304 after one query, planner/etags.py
@project_route(write="edit")
def changes(access: ProjectAccess):
    """The open board's refresh (board.js, every few seconds): what the board API says, and each
    changed card drawn as the page draws it. ?sprint=ID&since=ISO&lanes=&mine=&role=&stage=&here="""
    session = db.session()
    ctx = load_context(session, access.project)
    sprint = ctx.sprints.get(parse_id(request.args.get("sprint", "")) or 0)
    if sprint is None:
        abort(404)
    view = board_filters(ctx, request.args)
    found = board_changes(
        session, ctx, sprint, view, current_user.id, since=since_of(request.args), now=utcnow()
    )
    here = safe_next(request.args.get("here")) or ""
    parts = card_parts(session, [s.id for s in found.changed], current_user)  # story_parts
    warnings = gate_warnings(session, ctx, found.changed)  # gates
    return jsonify(
        {
            "now": iso_utc(found.now),
            "cards": [{"number": s.number, "version": s.version} for s in found.cards],
            "changed": [
                {
                    "number": s.number,
                    "status": s.status,
                    "lane": lane_key(s, view["lanes"]),
                    "html": render_template(
                        "board/_card.html",
                        s=s,
                        ctx=ctx,
                        project=access.project,
                        access=access,
                        here=here,
                        card_parts=parts,
                        gate_warnings=warnings,
                    ),
                }
                for s in found.changed
            ],
            "totals": found.totals.as_json(),
        }
    )


@bp.post("/projects/<key>/board/<int:number>")
@project_route(write="edit")
def move(access: ProjectAccess, number: int):
    """Change a card's status from the board without JavaScript (the card's own small form)."""
    session = db.session()
    ctx = load_context(session, access.project)
    story = session.scalar(
        select(Story).where(Story.project_id == access.project.id, Story.number == number)
    )
    if story is None:
        abort(404)
    back = safe_next(request.form.get("next")) or url_for("board.index", key=access.project.key)
    key = story.key_in(access.project.key)
    version = request.form.get("version", "")
    return act(  # a stale version fails too: the message says whose change won
        lambda: update_story(
            session,
            ctx,
            story,
            {"status": request.form.get("status", "")},
            by=current_user,
            now=utcnow(),
            base_version=parse_id(version) or -1,
        ),
        done=lambda _: f"{key} moved to {STATUSES[story.status]}.",
        failed=f"{key} not moved: ",
        then=back + f"#c{number}",
    )


# The fields a column's "+ Story" form may carry: its status, the sprint, and its swimlane's value.
COLUMN_FIELDS = ("title", "status", "sprint", "stage", "assignee", "epic")


@bp.post("/projects/<key>/board/stories")
@project_route(write="edit")
def create(access: ProjectAccess):
    """Add a story from a board column's "+ Story" form: in that column's status and the board's
    sprint (and its swimlane's stage, assignee or epic). board.js sends the same through the API."""
    session = db.session()
    ctx = load_context(session, access.project)
    values = {f: request.form[f] for f in COLUMN_FIELDS if request.form.get(f)}
    values.setdefault("title", "")
    back = safe_next(request.form.get("next")) or url_for("board.index", key=access.project.key)
    return act(
        lambda: create_story(session, ctx, values, by=current_user, now=utcnow()),
        done=lambda story: f"{story.key_in(access.project.key)} added to {STATUSES[story.status]}.",
        failed="Story not added: ",
        then=lambda story: back + (f"#c{story.number}" if story else ""),
    )


@bp.post("/projects/<key>/stories/<int:number>/comments")
@project_route(write=TALK)  # stakeholders may comment: it is how they ask
def comment(access: ProjectAccess, number: int):
    session = db.session()
    story = session.scalar(
        select(Story).where(Story.project_id == access.project.id, Story.number == number)
    )
    if story is None:
        abort(404)
    target = url_for("stories.show", key=access.project.key, number=number)
    return act(
        lambda: add_comment(
            session,
            access.project,
            story,
            request.form.get("body", ""),
            by=current_user,
            now=utcnow(),
        ),
        failed="Comment not added: ",
        then=lambda added: target + f"#comment-{added.id}",
        failed_then=target + "#comments",
    )


@bp.post("/projects/<key>/stories/<int:number>/comments/<int:comment_id>/delete")
@project_route(write=TALK)  # their own comments; delete_comment decides
def remove_comment(access: ProjectAccess, number: int, comment_id: int):
    session = db.session()
    found = session.scalar(
        select(Comment)
        .join(Story, Story.id == Comment.story_id)
        .where(
            Comment.id == comment_id,
            Story.project_id == access.project.id,
            Story.number == number,
        )
    )
    if found is None:
        abort(404)
    try:
        delete_comment(session, access, found, by=current_user)
    except AccessDenied as exc:  # someone else's comment: a refusal, not a message
        abort(403, description=str(exc))
    session.commit()
    flash("Comment deleted.", "success")
    return redirect(url_for("stories.show", key=access.project.key, number=number) + "#comments")


@bp.get("/my-work")
def my_work():
    groups = open_work(db.session(), current_user)
    return render_template("board/my_work.html", groups=groups, button=EmptyForm())
