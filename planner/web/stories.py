"""Story pages: the full create form and a story's page (its form, read-only for view members,
and its history in plain words)."""

from __future__ import annotations

import json

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user
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
from planner.models import Story, StoryEvent
from planner.signin import require_login
from planner.timeutil import utcnow
from planner.web.forms import EmptyForm, StoryForm, act, submit

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
        form.stage.data = request.args.get("stage", "")
        form.type.data = request.args.get("type", "feature")
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


def _nobody(story: Story, event: StoryEvent) -> str:
    """Who made a change with no author: an import writes the history it could recover."""
    if story.imported_at is not None and event.at <= story.imported_at:
        return "Imported:"
    return "Someone"


def history_lines(ctx: ProjectContext, story: Story) -> list[dict]:
    """Return the story's events, newest first, in plain words."""
    lines = []
    for event in reversed(story.events):
        lines.append(
            {
                "at": event.at,
                "who": event.by.name if event.by else _nobody(story, event),
                "what": describe_change(
                    ctx, event.field, event.from_value, event.to_value, event.by_id
                ),
                "by_id": event.by_id,
            }
        )
    return lines


@bp.route("/projects/<key>/stories/<int:number>", methods=["GET", "POST"])
@project_route(write="edit")
def show(access: ProjectAccess, number: int):
    session = db.session()
    story = _load_story(access, number)
    ctx = load_context(session, access.project)
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
            history=history_lines(ctx, story),
            comments=comments_of(session, story),
            button=EmptyForm(),
            watchers=watchers,
            watching=any(w.id == current_user.id for w in watchers),
            mentions_json=mentions_json(ctx),
        ),
        status,
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
