"""Access to a project, decided in one place for pages and the API (and for tokens: a `read`
token is refused every write here).

Every route that touches a project goes through `project_route` (or calls `resolve`): a non-member
gets 404, a read needs view access, and any other method needs at least edit access, or the level
the route asks for. Routes cannot forget the write check, because the method decides it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import abort, g, request
from flask_login import current_user
from sqlalchemy import select

from planner import db
from planner.domain import AccessDenied, NotFoundError
from planner.domain.access import (
    ProjectAccess,
    project_access,
    required_level,
    sprint_access,
    story_access,
)
from planner.models import Milestone, Project
from planner.signin import current_bearer


def _check(access: ProjectAccess, write: str) -> ProjectAccess:
    needed = required_level(request.method, write)
    try:
        access.require(needed)
    except AccessDenied as exc:
        abort(403, description=str(exc))
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        require_write_token()  # also for the writes view access may make (comment, watch)
    g.access = access
    return access


def writes(view: Callable) -> Callable:
    """Decorate a write that belongs to no project (making one): a `read` token is refused
    before the body is read."""

    @functools.wraps(view)
    def wrapper(**kwargs: Any):
        require_write_token()
        return view(**kwargs)

    return wrapper


def require_write_token() -> None:
    """A `read` token reads whatever its owner may read and changes nothing (403)."""
    bearer = current_bearer()
    if bearer is not None and bearer.read_only:
        abort(403, description="This token is read-only; use a token with the write scope.")


def resolve(project_key: str, *, write: str = "edit") -> ProjectAccess:
    """Return the signed-in user's access to `project_key` for this request, or abort 404/403."""
    try:
        access = project_access(db.session(), current_user, project_key)
    except NotFoundError:
        abort(404)
    return _check(access, write)


def resolve_story(story_key: str, *, write: str = "edit"):
    """Return (access, story) for a story key like FRAUD-42, or abort 404/403."""
    try:
        access, story = story_access(db.session(), current_user, story_key)
    except NotFoundError:
        abort(404)
    return _check(access, write), story


def resolve_sprint(sprint_id: int, *, write: str = "manage"):
    """Return (access, sprint) for a sprint id, or abort 404/403. Sprint writes need manage."""
    try:
        access, sprint = sprint_access(db.session(), current_user, sprint_id)
    except NotFoundError:
        abort(404)
    return _check(access, write), sprint


def project_route(write: str = "edit") -> Callable:
    """Decorate a view taking `key`: it receives `access` instead, checked for this request."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(key: str, **kwargs: Any):
            return view(access=resolve(key, write=write), **kwargs)

        return wrapper

    return decorator


def resolve_milestone(milestone_id: int, *, write: str = "manage"):
    """Return (access, milestone) for a milestone id, or abort 404/403."""
    session = db.session()
    project_key = session.scalar(
        select(Project.key)
        .join(Milestone, Milestone.project_id == Project.id)
        .where(Milestone.id == milestone_id)
    )
    if project_key is None:
        abort(404)
    access = resolve(project_key, write=write)  # non-members get 404 here
    return access, session.get(Milestone, milestone_id)


def _thing_route(resolver: Callable, param: str, name: str, write: str) -> Callable:
    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(**kwargs: Any):
            access, found = resolver(kwargs.pop(param), write=write)
            return view(access=access, **{name: found}, **kwargs)

        return wrapper

    return decorator


def story_route(write: str = "edit") -> Callable:
    """Decorate a view taking `story_key`: it receives `access` and `story`, checked first (so an
    outsider gets 404 whatever the body says)."""
    return _thing_route(resolve_story, "story_key", "story", write)


def sprint_route(write: str = "manage") -> Callable:
    """Decorate a view taking `sprint_id`: it receives `access` and `sprint`."""
    return _thing_route(resolve_sprint, "sprint_id", "sprint", write)


def milestone_route(write: str = "manage") -> Callable:
    """Decorate a view taking `milestone_id`: it receives `access` and `milestone`."""
    return _thing_route(resolve_milestone, "milestone_id", "milestone", write)
