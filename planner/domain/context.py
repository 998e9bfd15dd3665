"""What rules about one project need to look up, loaded in a few queries and shared by every
domain module, the pages and the API: its stages, members (with accounts and roles), sprints and
epics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from planner.models import Epic, Membership, Project, Sprint, Stage


@dataclass
class ProjectContext:
    """What validating a story of one project needs to look up, loaded in a few queries."""

    project: Project
    stages: dict[str, Stage]
    members: dict[int, Membership]
    sprints: dict[int, Sprint]
    epics: dict[str, Epic]

    def stage_by_id(self, stage_id: int | None) -> Stage | None:
        return next((s for s in self.stages.values() if s.id == stage_id), None)

    def epic_by_id(self, epic_id: int | None) -> Epic | None:
        return next((e for e in self.epics.values() if e.id == epic_id), None)

    def member_by_email(self, email: str) -> Membership | None:
        email = email.strip().lower()
        return next((m for m in self.members.values() if m.account.email == email), None)


def stage_ref(ctx: ProjectContext, value: Any) -> tuple[int | None, str | None]:
    """Return (the stage id for a stage key, or None for no stage; a message when unknown)."""
    key = value or None
    if key is None:
        return None, None
    if not isinstance(key, str) or key not in ctx.stages:
        return None, f"The project has no stage {key!r}."
    return ctx.stages[key].id, None


def load_context(session: Session, project: Project) -> ProjectContext:
    """Load the project's stages, members, sprints and epics for validation and display."""
    stages = session.scalars(
        select(Stage).where(Stage.project_id == project.id).order_by(Stage.position, Stage.id)
    )
    members = session.scalars(
        select(Membership)
        .where(Membership.project_id == project.id)
        .options(selectinload(Membership.account), selectinload(Membership.role_rows))
    )
    sprints = session.scalars(
        select(Sprint).where(Sprint.project_id == project.id).order_by(Sprint.start_date, Sprint.id)
    )
    epics = session.scalars(select(Epic).where(Epic.project_id == project.id).order_by(Epic.id))
    return ProjectContext(
        project=project,
        stages={s.key: s for s in stages},
        members={m.account_id: m for m in members},
        sprints={s.id: s for s in sprints},
        epics={e.key: e for e in epics},
    )


def lock_project(session: Session, project: Project) -> None:
    """Hold the project's row until the transaction ends, so that rules counting its members
    (a project keeps a manager) see every concurrent change: SELECT ... FOR UPDATE on PostgreSQL;
    on SQLite a no-op UPDATE, which takes the database's write lock."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(Project).where(Project.id == project.id).values(id=Project.id))
    else:
        session.execute(select(Project.id).where(Project.id == project.id).with_for_update())
