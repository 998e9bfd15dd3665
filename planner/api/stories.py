"""API: one story, read with its history, and changed with optimistic locking."""

from __future__ import annotations

from flask import abort, jsonify
from flask_login import current_user
from sqlalchemy import select

from planner import db
from planner.api import bp, schemas
from planner.api.dependencies import story_parts_json
from planner.api.links import owner_links_json
from planner.api.projects import json_body
from planner.api.serialize import event_json, outcome_record_json, story_json
from planner.api.spec import answers, spec
from planner.authz import story_route
from planner.domain import StaleVersionError, ValidationError
from planner.domain.access import TALK, ProjectAccess
from planner.domain.board import add_comment, comments_of, delete_comment
from planner.domain.context import ProjectContext, load_context
from planner.domain.dependencies import story_parts
from planner.domain.outcomes import latest_record
from planner.domain.stories import update_story
from planner.errors import error_response
from planner.models import Comment, Story, StoryEvent, StoryTextChange
from planner.timeutil import iso_utc, utcnow


def _with_parts(body: dict, story: Story) -> dict:
    """Add blocked_by, blocks and checklist to one story's answer (story_parts), and its
    latest outcome record."""
    record = outcome_record_json(latest_record(db.session(), story) if story.outcome else None)
    return {**body, **story_parts_json(db.session(), story), "outcome_record": record}


def story_answer(ctx: ProjectContext, story: Story) -> dict:
    """One story's answer: story_json with its history, then blocked_by, blocks and checklist
    (story_parts_json) and its latest outcome record, as _with_parts gives them; its history,
    labels, dependencies and checklist read in one query."""
    session = db.session()
    parts = story_parts(session, story, current_user)
    body = story_json(ctx, story, history=parts.history, labels=parts.labels)
    deps = parts.dependencies
    body["blocked_by"] = [link.key for link in deps.blocked_by if link.visible]
    body["blocks"] = [link.key for link in deps.blocks if link.visible]
    body["checklist"] = parts.checklist.as_json()
    record = latest_record(session, story) if story.outcome else None
    body["outcome_record"] = outcome_record_json(record)
    return body


def _history(story_id: int) -> list[StoryEvent]:
    return list(
        db.session().scalars(
            select(StoryEvent)
            .where(StoryEvent.story_id == story_id)
            .order_by(StoryEvent.at, StoryEvent.id)
        )
    )


@bp.get("/stories/<story_key>")
@story_route()
@spec.validate(resp=answers(200, schemas.StoryOut, 404), tags=["stories"])
def story(access: ProjectAccess, story: Story):
    """A story with its `version`, its whole history and its artefact links (live details)."""
    ctx = load_context(db.session(), access.project)
    body = story_answer(ctx, story)
    body["links"] = owner_links_json(access.project, story)
    return jsonify(body)


@bp.patch("/stories/<story_key>")
@story_route(write="edit")
@spec.validate(
    json=schemas.StoryPatch,
    resp=answers(200, schemas.StoryOut, 400, 403, 404, 409, 422),
    tags=["stories"],
)
def patch_story(access: ProjectAccess, story: Story):
    """Change any fields of a story, based on `version`; a stale version answers 409 with the
    story as it is now in `error.details.current`."""
    session = db.session()
    ctx = load_context(session, access.project)
    data = dict(json_body())
    version = data.pop("version", None)
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValidationError({"version": "Send the version the change is based on, as a number."})
    try:
        update_story(session, ctx, story, data, by=current_user, now=utcnow(), base_version=version)
    except StaleVersionError as exc:
        session.rollback()
        current = session.scalar(select(Story).where(Story.id == story.id))
        body = story_json(ctx, current, history=_history(current.id))
        response, status = error_response(409, exc.message, {"current": body}, exc.code)
        return response, status
    # The answer is read in the writing transaction (it sees the change, and nothing after it),
    # which saves the new transaction, connection check-out and ping a read after commit costs.
    body = story_answer(ctx, story)
    session.commit()
    return jsonify(body)


def comment_json(comment: Comment) -> dict:
    author = comment.author
    return {
        "id": comment.id,
        "author": author.email if author else None,
        "author_name": author.name if author else None,
        "body": comment.body,
        "created_at": iso_utc(comment.created_at),
    }


@bp.get("/stories/<story_key>/comments")
@story_route()
@spec.validate(resp=answers(200, schemas.CommentList, 404), tags=["comments"])
def story_comments(access: ProjectAccess, story: Story):
    """The story's comments, oldest first."""
    return jsonify({"comments": [comment_json(c) for c in comments_of(db.session(), story)]})


@bp.post("/stories/<story_key>/comments")
@story_route(write=TALK)
@spec.validate(
    json=schemas.CommentCreate,
    resp=answers(201, schemas.CommentOut, 400, 403, 404, 422),
    tags=["comments"],
)
def add_story_comment(access: ProjectAccess, story: Story):
    """Comment on a story (view access is enough: stakeholders comment to ask)."""
    session = db.session()
    comment = add_comment(
        session, access.project, story, json_body()["body"], by=current_user, now=utcnow()
    )
    session.commit()
    comment.author = current_user._get_current_object()
    return jsonify(comment_json(comment)), 201


@bp.delete("/stories/<story_key>/comments/<int:comment_id>")
@story_route(write=TALK)
@spec.validate(resp=answers(204, None, 403, 404), tags=["comments"])
def delete_story_comment(access: ProjectAccess, story: Story, comment_id: int):
    """Delete a comment: its author may, and so may a project manager (204)."""
    session = db.session()
    comment = session.scalar(
        select(Comment).where(Comment.id == comment_id, Comment.story_id == story.id)
    )
    if comment is None:
        abort(404)
    delete_comment(session, access, comment, by=current_user)
    session.commit()
    return "", 204


@bp.get("/stories/<story_key>/history")
@story_route()
@spec.validate(resp=answers(200, schemas.History, 404), tags=["stories"])
def story_history(access: ProjectAccess, story: Story):
    """Every recorded change of the story, oldest first: `history` holds the tracked fields the
    charts are computed from, `text_changes` the edits of its texts (never in a chart)."""
    session = db.session()
    ctx = load_context(session, access.project)
    texts = session.scalars(
        select(StoryTextChange)
        .where(StoryTextChange.story_id == story.id)
        .order_by(StoryTextChange.at, StoryTextChange.id)
    )
    return jsonify(
        {
            "history": [event_json(ctx, e) for e in _history(story.id)],
            "text_changes": [text_change_json(ctx, change) for change in texts],
        }
    )


def text_change_json(ctx: ProjectContext, change: StoryTextChange) -> dict:
    """One edit of a story's text as the history endpoint shows it; `by` is a member's e-mail."""
    member = ctx.members.get(change.by_id) if change.by_id is not None else None
    return {
        "at": iso_utc(change.at),
        "field": change.field,
        "from": change.from_text,
        "to": change.to_text,
        "by": member.account.email if member else None,
    }
