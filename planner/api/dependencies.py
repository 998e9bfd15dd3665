"""API: a story's dependencies ("blocked by FRAUD-4") and its checklist."""

from __future__ import annotations

from flask import abort, jsonify
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from planner import db
from planner.api import bp, schemas
from planner.api.projects import json_body
from planner.api.spec import answers, spec
from planner.authz import story_route
from planner.domain import NotFoundError, ValidationError
from planner.domain.access import ProjectAccess
from planner.domain.checklists import (
    Progress,
    add_item,
    checklist_of,
    delete_item,
    move_item,
    progress_of,
    rename_item,
    set_done,
)
from planner.domain.dependencies import (
    Dependencies,
    Link,
    add_blocker,
    dependencies_of,
    remove_blocker,
    story_you_can_see,
)
from planner.models import ChecklistItem, Story
from planner.timeutil import utcnow


def story_parts_json(session: Session, story: Story) -> dict:
    """What one story's own answer adds: the keys of its blockers and of the stories it blocks
    (those the caller can see) and its checklist progress."""
    deps = dependencies_of(session, story, current_user)
    progress = progress_of(session, [story.id]).get(story.id, Progress(0, 0))
    return {
        "blocked_by": [link.key for link in deps.blocked_by if link.visible],
        "blocks": [link.key for link in deps.blocks if link.visible],
        "checklist": progress.as_json(),
    }


def _link_json(link: Link) -> dict:
    return {"key": link.key, "title": link.title, "status": link.status, "done": link.done}


def _dependencies_json(deps: Dependencies) -> dict:
    return {
        "blocked_by": [_link_json(link) for link in deps.blocked_by],
        "blocks": [_link_json(link) for link in deps.blocks],
    }


@bp.get("/stories/<story_key>/dependencies")
@story_route()
@spec.validate(resp=answers(200, schemas.Dependencies, 404), tags=["dependencies"])
def dependencies(access: ProjectAccess, story: Story):
    """What blocks the story and what it blocks (unfinished first); a story in a project you do
    not belong to shows with `key` null."""
    return jsonify(_dependencies_json(dependencies_of(db.session(), story, current_user)))


@bp.post("/stories/<story_key>/dependencies")
@story_route(write="edit")
@spec.validate(
    json=schemas.DependencyCreate,
    resp=answers(201, schemas.Dependencies, 400, 403, 404, 422),
    tags=["dependencies"],
)
def add_dependency(access: ProjectAccess, story: Story):
    """Record that `blocked_by` blocks this story; a cycle, the story itself, a repeat or a key
    you cannot see answer 422 saying why."""
    session = db.session()
    blocker = story_you_can_see(session, current_user, json_body()["blocked_by"])
    add_blocker(session, story, blocker, by=current_user, now=utcnow())
    session.commit()
    return jsonify(_dependencies_json(dependencies_of(session, story, current_user))), 201


@bp.delete("/stories/<story_key>/dependencies/<blocker_key>")
@story_route(write="edit")
@spec.validate(resp=answers(204, None, 403, 404), tags=["dependencies"])
def remove_dependency(access: ProjectAccess, story: Story, blocker_key: str):
    """Forget that `blocker_key` blocks this story (204); 404 when it does not."""
    session = db.session()
    try:
        blocker = story_you_can_see(session, current_user, blocker_key)
        remove_blocker(session, story, blocker.id)
    except (NotFoundError, ValidationError):  # no such key, or no such dependency
        abort(404)
    session.commit()
    return "", 204


def _item_json(item: ChecklistItem) -> dict:
    return {"id": item.id, "text": item.text, "done": item.done, "position": item.position}


def _checklist_json(session: Session, story: Story) -> dict:
    items = checklist_of(session, story)
    return {
        "items": [_item_json(item) for item in items],
        "done": sum(1 for item in items if item.done),
        "total": len(items),
    }


def _item(story: Story, item_id: int) -> ChecklistItem:
    item = db.session().scalar(
        select(ChecklistItem).where(ChecklistItem.id == item_id, ChecklistItem.story_id == story.id)
    )
    if item is None:
        abort(404)
    return item


@bp.get("/stories/<story_key>/checklist")
@story_route()
@spec.validate(resp=answers(200, schemas.Checklist, 404), tags=["checklists"])
def checklist(access: ProjectAccess, story: Story):
    """The story's checklist in order, with how many items are done."""
    return jsonify(_checklist_json(db.session(), story))


@bp.post("/stories/<story_key>/checklist")
@story_route(write="edit")
@spec.validate(
    json=schemas.ChecklistItemCreate,
    resp=answers(201, schemas.ChecklistItemOut, 400, 403, 404, 422),
    tags=["checklists"],
)
def add_checklist_item(access: ProjectAccess, story: Story):
    """Add an item at the end (1 to 200 characters; at most 50 items per story)."""
    session = db.session()
    body = json_body()
    item = add_item(session, story, body["text"])
    if body.get("done"):
        set_done(session, item, True)
    session.commit()
    return jsonify(_item_json(item)), 201


@bp.patch("/stories/<story_key>/checklist/<int:item_id>")
@story_route(write="edit")
@spec.validate(
    json=schemas.ChecklistItemPatch,
    resp=answers(200, schemas.ChecklistItemOut, 400, 403, 404, 422),
    tags=["checklists"],
)
def patch_checklist_item(access: ProjectAccess, story: Story, item_id: int):
    """Tick (`done`), rename (`text`) or move (`move`: up or down) an item."""
    session = db.session()
    item = _item(story, item_id)
    body = json_body()
    if body.get("text") is not None:
        rename_item(session, item, body["text"])
    if body.get("done") is not None:
        set_done(session, item, body["done"])
    if body.get("move") is not None:
        move_item(session, story, item, body["move"])
    session.commit()
    return jsonify(_item_json(item))


@bp.delete("/stories/<story_key>/checklist/<int:item_id>")
@story_route(write="edit")
@spec.validate(resp=answers(204, None, 403, 404), tags=["checklists"])
def delete_checklist_item(access: ProjectAccess, story: Story, item_id: int):
    """Delete an item (204)."""
    session = db.session()
    delete_item(session, _item(story, item_id))
    session.commit()
    return "", 204
