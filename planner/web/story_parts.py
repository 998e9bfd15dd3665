"""The parts of a story page that are forms of their own: its dependencies ("blocked by
FRAUD-4") and its checklist. Every change is a plain form post that comes back to the story page;
ticking an item may also be a fetch (static/js/checklist.js), answered with the new progress."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from planner import db
from planner.authz import project_route
from planner.domain import NotFoundError
from planner.domain.access import ProjectAccess
from planner.domain.checklists import (
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
    add_blocker,
    dependencies_of,
    remove_blocker,
    story_you_can_see,
)
from planner.models import ChecklistItem, Story
from planner.signin import require_login
from planner.timeutil import utcnow
from planner.web.forms import act

bp = Blueprint("story_parts", __name__)
bp.before_request(require_login)


@bp.app_context_processor
def story_part_loaders() -> dict:
    """What templates/stories/_dependencies.html and _checklist.html call to load their data
    (three queries and one), so that any story page can include them."""

    def story_dependencies(story: Story) -> Dependencies:
        return dependencies_of(db.session(), story, current_user)

    def story_checklist(story: Story) -> list[ChecklistItem]:
        return checklist_of(db.session(), story)

    return {"story_dependencies": story_dependencies, "story_checklist": story_checklist}


def _story(access: ProjectAccess, number: int) -> Story:
    story = db.session().scalar(
        select(Story).where(Story.project_id == access.project.id, Story.number == number)
    )
    if story is None:
        abort(404)
    return story


def _item(story: Story, item_id: int) -> ChecklistItem:
    item = db.session().scalar(
        select(ChecklistItem).where(ChecklistItem.id == item_id, ChecklistItem.story_id == story.id)
    )
    if item is None:
        abort(404)
    return item


def _page(access: ProjectAccess, number: int, part: str) -> str:
    return url_for("stories.show", key=access.project.key, number=number) + f"#{part}"


# --- dependencies ------------------------------------------------------------------------------


@bp.post("/projects/<key>/stories/<int:number>/blockers")
@project_route(write="edit")
def add_dependency(access: ProjectAccess, number: int):
    """Record "this story is blocked by KEY" (KEY from any project the user belongs to)."""
    session = db.session()
    story = _story(access, number)
    key = story.key_in(access.project.key)

    def add():
        blocker = story_you_can_see(session, current_user, request.form.get("blocker", ""))
        add_blocker(session, story, blocker, by=current_user, now=utcnow())
        return blocker

    return act(
        add,
        then=_page(access, number, "dependencies"),
        done=lambda _: f"{key}: blocker added.",
        failed="Blocker not added: ",
    )


@bp.post("/projects/<key>/stories/<int:number>/blockers/<int:blocker_id>/delete")
@project_route(write="edit")
def remove_dependency(access: ProjectAccess, number: int, blocker_id: int):
    session = db.session()
    story = _story(access, number)
    try:
        remove_blocker(session, story, blocker_id)
    except NotFoundError:
        abort(404)
    return act(
        lambda: None,
        then=_page(access, number, "dependencies"),
        done=f"{story.key_in(access.project.key)}: blocker removed.",
    )


# --- checklist ---------------------------------------------------------------------------------


@bp.post("/projects/<key>/stories/<int:number>/checklist")
@project_route(write="edit")
def add_checklist_item(access: ProjectAccess, number: int):
    story = _story(access, number)
    return act(
        lambda: add_item(db.session(), story, request.form.get("text", "")),
        then=_page(access, number, "checklist"),
        failed="Item not added: ",
    )


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.post("/projects/<key>/stories/<int:number>/checklist/<int:item_id>/tick")
@project_route(write="edit")
def tick(access: ProjectAccess, number: int, item_id: int):
    """Tick (done=1) or untick (done=0) an item; a fetch gets the story's new progress."""
    session = db.session()
    story = _story(access, number)
    item = _item(story, item_id)
    done = request.form.get("done", "")
    if done not in ("0", "1"):
        if _wants_json():
            abort(422, description="Send done=1 to tick the item or done=0 to untick it.")
        flash("Item not changed: send done=1 to tick it or done=0 to untick it.", "error")
        return redirect(_page(access, number, "checklist"))
    if _wants_json():
        set_done(session, item, done == "1")
        session.commit()
        progress = progress_of(session, [story.id]).get(story.id)
        return jsonify({"id": item.id, "done": item.done, "checklist": progress.as_json()})
    return act(
        lambda: set_done(session, item, done == "1"),
        then=_page(access, number, f"item-{item.id}"),
    )


@bp.post("/projects/<key>/stories/<int:number>/checklist/<int:item_id>/rename")
@project_route(write="edit")
def rename(access: ProjectAccess, number: int, item_id: int):
    story = _story(access, number)
    item = _item(story, item_id)
    return act(
        lambda: rename_item(db.session(), item, request.form.get("text", "")),
        then=_page(access, number, f"item-{item.id}"),
        done="Item renamed.",
        failed="Item not renamed: ",
    )


@bp.post("/projects/<key>/stories/<int:number>/checklist/<int:item_id>/move")
@project_route(write="edit")
def move(access: ProjectAccess, number: int, item_id: int):
    story = _story(access, number)
    item = _item(story, item_id)
    return act(
        lambda: move_item(db.session(), story, item, request.form.get("direction", "")),
        then=_page(access, number, f"item-{item.id}"),
        failed="Item not moved: ",
    )


@bp.post("/projects/<key>/stories/<int:number>/checklist/<int:item_id>/delete")
@project_route(write="edit")
def delete(access: ProjectAccess, number: int, item_id: int):
    story = _story(access, number)
    item = _item(story, item_id)
    return act(
        lambda: delete_item(db.session(), item),
        then=_page(access, number, "checklist"),
        done="Item deleted.",
    )
