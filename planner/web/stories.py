"""Story pages: the full create form and a story's page (its form for members who edit, a clean
read-only page for view members, and its history in plain words, text edits as differences)."""

from __future__ import annotations

import json

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from planner import db
from planner.authz import project_route
from planner.domain import StaleVersionError, parse_id
from planner.domain.access import ProjectAccess
from planner.domain.board import comments_of
from planner.domain.context import ProjectContext, load_context
from planner.domain.labels import parse_labels, set_labels
from planner.domain.stories import (
    create_story,
    describe_change,
    reopened_to_backlog,
    update_story,
)
from planner.domain.watching import mention_choices, watchers_of
from planner.inputs import TEXT_LIMITS
from planner.models import Story, StoryEvent, StoryTextChange
from planner.signin import require_login
from planner.timeutil import utcnow
from planner.web.forms import EmptyForm, StoryForm, act, submit
from planner.web.textdiff import short_change, word_diff

bp = Blueprint("stories", __name__)
bp.before_request(require_login)


@bp.route("/projects/<key>/stories/new", methods=["GET", "POST"])
@project_route(write="edit")
def new(access: ProjectAccess):
    if not access.can_edit:
        abort(403, description="View members cannot create stories.")
    session = db.session()
    ctx = load_context(session, access.project)
    form = StoryForm()
    form.fill_choices(ctx)
    if request.method == "GET":
        # Prefilled from the address (a board column's "All fields…", the search page's "Create"):
        # only text that fits a field; choices the form does not offer are shown as its default.
        form.stage.data = request.args.get("stage", "")
        form.type.data = request.args.get("type", "feature")
        form.title.data = request.args.get("title", "")[: TEXT_LIMITS["title"]]
        for name in ("status", "sprint", "epic", "role", "assignee"):
            if name in request.args:
                getattr(form, name).data = request.args.get(name, "")[:40]
        return _new_page(access, ctx, form)
    outcome = submit(
        form,
        lambda: create_story(session, ctx, form.values(), by=current_user, now=utcnow()),
        done=lambda story: f"{story.key_in(access.project.key)} created.",
        then=lambda story: url_for("stories.show", key=access.project.key, number=story.number),
    )
    if outcome.response:
        return outcome.response
    return _new_page(access, ctx, form), 422


def _new_page(access: ProjectAccess, ctx: ProjectContext, form: StoryForm) -> str:
    return render_template(
        "stories/form.html",
        access=access,
        project=access.project,
        form=form,
        story=None,
        mentions_json=mentions_json(ctx),
    )


def mentions_json(ctx: ProjectContext) -> str:
    """The members "@" offers in this project's text areas (static/js/mentions.js reads it)."""
    return json.dumps(mention_choices(ctx.members.values()))


def _load_story(access: ProjectAccess, number: int) -> Story:
    story = (
        db.session()
        .scalars(
            select(Story)
            .where(Story.project_id == access.project.id, Story.number == number)
            .options(
                selectinload(Story.events).selectinload(StoryEvent.by),
                joinedload(Story.labels),
            )
        )
        .unique()
        .one_or_none()
    )
    if story is None:
        abort(404)
    return story


def _saved(ctx: ProjectContext, key: str, events: list[StoryEvent]) -> str:
    if sprint := reopened_to_backlog(ctx, events):
        return f"{key} saved. {sprint} is closed, so {key} is back at the top of the backlog."
    return f"{key} saved."


def _nobody(story: Story, event: StoryEvent | StoryTextChange) -> str:
    """Who made a change with no author: an import writes the history it could recover."""
    if story.imported_at is not None and event.at <= story.imported_at:
        return "Imported:"
    return "Someone"


def _text_changes(story: Story) -> list[StoryTextChange]:
    return list(
        db.session().scalars(
            select(StoryTextChange)
            .where(StoryTextChange.story_id == story.id)
            .options(joinedload(StoryTextChange.by))
            .order_by(StoryTextChange.at, StoryTextChange.id)
        )
    )


# Text fields shown whole, "from → to"; the others (several lines) as a word-by-word difference.
SHORT_TEXTS = ("title", "metric", "target")


def describe_text_change(change: StoryTextChange) -> tuple[str, Markup]:
    """Describe a text edit in words, with what changed as escaped HTML (<del>, <ins>)."""
    if change.field in SHORT_TEXTS:
        what = "renamed this" if change.field == "title" else f"changed the {change.field}"
        return what, short_change(change.from_text, change.to_text)
    name = change.field
    if not change.from_text:
        what = f"wrote the {name}"
    elif not change.to_text:
        what = f"removed the {name}"
    else:
        what = f"edited the {name}"
    return what, word_diff(change.from_text, change.to_text)


def history_lines(
    ctx: ProjectContext, story: Story, texts: list[StoryTextChange] | None = None
) -> list[dict]:
    """Return the story's events and text edits, newest first, in plain words."""
    timed: list[tuple] = []
    for event in story.events:
        line = {
            "at": event.at,
            "who": event.by.name if event.by else _nobody(story, event),
            "what": describe_change(
                ctx, event.field, event.from_value, event.to_value, event.by_id
            ),
            "detail": None,
            "by_id": event.by_id,
        }
        timed.append((event.at, 0, event.id, line))
    for change in texts or []:
        what, detail = describe_text_change(change)
        line = {
            "at": change.at,
            "who": change.by.name if change.by else _nobody(story, change),
            "what": what,
            "detail": detail,
            "field": change.field,
            "short": change.field in SHORT_TEXTS,
            "by_id": change.by_id,
        }
        timed.append((change.at, 1, change.id, line))
    timed.sort(key=lambda item: item[:3], reverse=True)
    return [line for *_, line in timed]


@bp.route("/projects/<key>/stories/<int:number>", methods=["GET", "POST"])
@project_route(write="edit")
def show(access: ProjectAccess, number: int):
    session = db.session()
    story = _load_story(access, number)
    ctx = load_context(session, access.project)
    if not access.can_edit:  # a write was refused (403) before this point
        return _readonly_page(access, ctx, story)
    form = StoryForm()
    form.fill_choices(ctx, story)
    conflict = None
    status = 200
    if request.method == "GET":
        form.load(ctx, story)
    else:
        base = parse_id(form.version.data or "") or 0
        outcome = submit(
            form,
            lambda: update_story(
                session, ctx, story, form.values(), by=current_user, now=utcnow(), base_version=base
            ),
            done=lambda events: _saved(ctx, story.key_in(access.project.key), events),
            then=url_for("stories.show", key=access.project.key, number=number),
            handled=(StaleVersionError,),
        )
        if outcome.response:
            return outcome.response
        status = outcome.status
        story = _load_story(access, number)
        if isinstance(outcome.error, StaleVersionError):
            conflict = outcome.error.message
            # The user has now seen the other change; saving again applies theirs on top of it.
            form.version.data = str(story.version)
    watchers = watchers_of(session, story.id)
    current = StoryForm(formdata=None)
    current.fill_choices(ctx, story)
    current.load(ctx, story)
    return (
        render_template(
            "stories/form.html",
            access=access,
            project=access.project,
            form=form,
            story=story,
            current=current,
            conflict=conflict,
            history=history_lines(ctx, story, _text_changes(story)),
            comments=comments_of(session, story),
            button=EmptyForm(),
            watchers=watchers,
            watching=any(w.id == current_user.id for w in watchers),
            mentions_json=mentions_json(ctx),
        ),
        status,
    )


def _readonly_page(access: ProjectAccess, ctx: ProjectContext, story: Story) -> str:
    """The story as a stakeholder reads it: values in words, no form fields, comments open."""
    session = db.session()
    watchers = watchers_of(session, story.id)
    member = ctx.members.get(story.assignee_id) if story.assignee_id else None
    return render_template(
        "stories/show_readonly.html",
        access=access,
        project=access.project,
        ctx=ctx,
        story=story,
        stage=ctx.stage_by_id(story.stage_id),
        sprint=ctx.sprints.get(story.sprint_id) if story.sprint_id else None,
        epic=ctx.epic_by_id(story.epic_id),
        assignee=member.account if member else None,
        history=history_lines(ctx, story, _text_changes(story)),
        comments=comments_of(session, story),
        button=EmptyForm(),
        watchers=watchers,
        watching=any(w.id == current_user.id for w in watchers),
        mentions_json=mentions_json(ctx),
    )


@bp.post("/projects/<key>/stories/<int:number>/labels")
@project_route(write="edit")
def labels(access: ProjectAccess, number: int):
    """Set a story's labels from "gdpr, needs-data" (edit access)."""
    session = db.session()
    story = _load_story(access, number)
    key = story.key_in(access.project.key)
    return act(
        lambda: set_labels(session, story, parse_labels(request.form.get("labels"))),
        then=url_for("stories.show", key=access.project.key, number=number),
        done=f"{key}: labels saved.",
        failed=f"{key}: labels not saved. ",
    )
