"""What rules about one project need to look up, loaded in four queries and shared by every
domain module, the pages and the API: its stages, members (with accounts and roles), sprints and
epics.

Within one request or CLI command (the session of an app context, planner.db.session()) the
context is loaded once: a second `load_context` of the same project answers the one already
loaded, until the session writes anything (a flush, an ORM insert, update or delete) or ends a
transaction (a commit, a rollback, a savepoint's end); the next call then loads it again."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import ORMExecuteState, Session, joinedload

from planner.models import Epic, Membership, Project, Sprint, Stage


@dataclass
class ProjectContext:
    """What validating a story of one project needs to look up, loaded in a few queries."""

    project: Project
    stages: dict[str, Stage]
    members: dict[int, Membership]
    sprints: dict[int, Sprint]
    epics: dict[str, Epic]
    # id -> stage / epic, built on first use and rebuilt whenever it no longer matches the dicts
    # above (callers add to them: a new epic, the next sprint).
    _stage_ids: dict[int, Stage] = field(default_factory=dict, init=False, repr=False)
    _epic_ids: dict[int, Epic] = field(default_factory=dict, init=False, repr=False)

    def stage_by_id(self, stage_id: int | None) -> Stage | None:
        if stage_id is None:
            return None
        stage = self._stage_ids.get(stage_id)
        if stage is None or self.stages.get(stage.key) is not stage:
            self._stage_ids = {s.id: s for s in self.stages.values()}
            stage = self._stage_ids.get(stage_id)
        return stage

    def epic_by_id(self, epic_id: int | None) -> Epic | None:
        if epic_id is None:
            return None
        epic = self._epic_ids.get(epic_id)
        if epic is None or self.epics.get(epic.key) is not epic:
            self._epic_ids = {e.id: e for e in self.epics.values()}
            epic = self._epic_ids.get(epic_id)
        return epic

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
    """Load the project's stages, members, sprints and epics for validation and display: four
    queries (members come with their accounts and roles in one), none when this web request
    has loaded them already and written nothing since."""
    cache = _request_cache(session)
    if cache is not None and (ctx := cache.get(project.id)) is not None and ctx.project is project:
        return ctx
    stages = session.scalars(
        select(Stage).where(Stage.project_id == project.id).order_by(Stage.position, Stage.id)
    )
    members = session.scalars(
        select(Membership)
        .where(Membership.project_id == project.id)
        .order_by(Membership.id)
        .options(joinedload(Membership.account, innerjoin=True), joinedload(Membership.role_rows))
    ).unique()
    sprints = session.scalars(
        select(Sprint).where(Sprint.project_id == project.id).order_by(Sprint.start_date, Sprint.id)
    )
    epics = session.scalars(select(Epic).where(Epic.project_id == project.id).order_by(Epic.id))
    ctx = ProjectContext(
        project=project,
        stages={s.key: s for s in stages},
        members={m.account_id: m for m in members},
        sprints={s.id: s for s in sprints},
        epics={e.key: e for e in epics},
    )
    if cache is not None:
        cache[project.id] = ctx
    return ctx


_CACHE_KEY = "planner.project_contexts"
CONTEXT_SESSION = "planner.context_session"  # planner.db.session() marks its sessions with it


def _request_cache(session: Session) -> dict[int, ProjectContext] | None:
    """The contexts loaded in this session, when it is the one session of a request or command
    (planner.db.session()); None for any other session (tests' own, scripts'): those load
    afresh every time."""
    if not session.info.get(CONTEXT_SESSION):
        return None
    _listen(session)
    return session.info.setdefault(_CACHE_KEY, {})


def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(_CACHE_KEY, None)


def _forget_on_write(state: ORMExecuteState) -> None:
    if not state.is_select:
        _forget(state.session)


def _listen(session: Session) -> None:
    if not event.contains(session, "after_flush", _forget):
        event.listen(session, "after_flush", _forget)
        event.listen(session, "after_transaction_end", _forget)
        event.listen(session, "do_orm_execute", _forget_on_write)


def lock_project(session: Session, project: Project) -> None:
    """Hold the project's row until the transaction ends, so that rules counting its members
    (a project keeps a manager) see every concurrent change: SELECT ... FOR UPDATE on PostgreSQL;
    on SQLite a no-op UPDATE, which takes the database's write lock."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(Project).where(Project.id == project.id).values(id=Project.id))
    else:
        session.execute(select(Project.id).where(Project.id == project.id).with_for_update())
