"""Plain functions that add test data and flush, never commit (the test decides when)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from planner.domain import projects as project_rules
from planner.domain.accounts import create_account
from planner.domain.context import load_context
from planner.domain.stories import create_story
from planner.models import Account, Membership, Project, Sprint, Story

PASSWORD = "correct horse battery"
HASH = "pbkdf2:sha256:1000"


def account(
    session: Session, email: str, name: str, *, password: str | None = PASSWORD, admin: bool = False
) -> Account:
    return create_account(
        session, email=email, name=name, password=password, is_admin=admin, hash_method=HASH
    )


def project(
    session: Session, key: str, name: str, *, owner: Account | None = None, **settings
) -> Project:
    return project_rules.create_project(session, key=key, name=name, owner=owner, **settings)


def member(
    session: Session, project: Project, who: Account, access: str, roles: list[str] | None = None
) -> Membership:
    return project_rules.add_member(session, project, who, access=access, roles=roles or [])


def sprint(
    session: Session,
    project: Project,
    name: str,
    start: date,
    end: date,
    *,
    state: str = "planned",
    started_at: datetime | None = None,
    closed_at: datetime | None = None,
) -> Sprint:
    row = Sprint(
        project_id=project.id,
        name=name,
        start_date=start,
        end_date=end,
        state=state,
        started_at=started_at,
        closed_at=closed_at,
    )
    session.add(row)
    session.flush()
    return row


def story(
    session: Session,
    project: Project,
    by: Account | None = None,
    *,
    now: datetime | None = None,
    **values,
) -> Story:
    values.setdefault("title", "A story")
    ctx = load_context(session, project)
    return create_story(
        session, ctx, values, by=by, now=now or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    )
