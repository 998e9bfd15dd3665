"""Saved views: a named filter of a project's Stories list, saved by a manager for everyone in
the project. A view keeps the filter as the list's query string, normalised: only the filters
the list knows, with values that name something of the project, in one order."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.domain import ValidationError, required_text
from planner.domain.context import ProjectContext
from planner.domain.story_filters import check_filters, filter_query
from planner.models import Account, Project, SavedView

VIEW_NAME_MAX = 60


def views_of(session: Session, project: Project) -> list[SavedView]:
    """The project's saved views, by name."""
    return list(
        session.scalars(
            select(SavedView)
            .where(SavedView.project_id == project.id)
            .order_by(SavedView.name, SavedView.id)
        )
    )


def save_view(
    session: Session,
    ctx: ProjectContext,
    name: str | None,
    args: Mapping,
    *,
    by: Account,
    now: datetime,
) -> SavedView:
    """Save the filter in `args` (a query string's values) as a view named `name`."""
    text, problem = required_text(
        name, max_len=VIEW_NAME_MAX, empty="Give the view a name.", multiline=False
    )
    if problem:
        raise ValidationError({"name": problem})
    text = " ".join(text.split())
    clash = session.scalar(
        select(SavedView.id).where(SavedView.project_id == ctx.project.id, SavedView.name == text)
    )
    if clash is not None:
        raise ValidationError({"name": f"There is already a view named “{text}”; pick another."})
    filters, _ = check_filters(ctx, args)
    view = SavedView(
        project_id=ctx.project.id,
        name=text,
        query=filter_query(filters),
        created_by_id=by.id,
        created_at=now,
    )
    session.add(view)
    session.flush()
    return view


def view_by_id(session: Session, project: Project, view_id: int) -> SavedView | None:
    return session.scalar(
        select(SavedView).where(SavedView.id == view_id, SavedView.project_id == project.id)
    )


def delete_view(session: Session, view: SavedView) -> None:
    session.delete(view)
    session.flush()
