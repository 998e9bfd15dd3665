"""What rules about one project need to look up, loaded in four queries and shared by every
domain module, the pages and the API: its stages, members (with accounts and roles), sprints and
epics.

Within one request or CLI command (the session of an app context, planner.db.session()) the
context is loaded once: a second `load_context` of the same project answers the one already
loaded, until the session writes anything (a flush, an ORM insert, update or delete) or ends a
transaction (a commit, a rollback, a savepoint's end); the next call then loads it again.

Across requests, each process keeps a copy of the column values of each project's context
(SharedContexts, one per engine), filed under the project's context stamp: a random number that
every write to a stage, membership, role, sprint, epic, milestone or a member's name, e-mail or
activity replaces, in the same transaction (planner.models.versioning). A request that read the
project's row in its transaction (the access check does, first; lock_project reads it again)
and finds a copy under the stamp it read builds the context's objects from the copy, in its
session, without a query, each when first asked for (_Lazy). A copy is read from the database
after the stamp (five queries), never taken from objects the session held before, and kept only
while the transaction has not changed the context: so a copy is never older than its stamp."""

from __future__ import annotations

import functools
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import bindparam, event, inspect, select, update
from sqlalchemy.orm import ORMExecuteState, Session, joinedload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from planner.db import BEFORE_EXPIRE_ALL, SHARED_CONTEXTS
from planner.models import Account, Epic, Membership, MembershipRole, Project, Sprint, Stage
from planner.models.versioning import (
    ACCOUNT_IN_CONTEXT,
    BEFORE_NEW_STAMP,
    fresh_context_stamp,
    note_stamp,
    taking_project_rows,
)


@dataclass
class ProjectContext:
    """What validating a story of one project needs to look up, loaded in a few queries."""

    project: Project
    # Mappings: dicts, or (a context made from a worker's copy) _Lazy ones that build each
    # object when first asked for.
    stages: MutableMapping[str, Stage]
    members: MutableMapping[int, Membership]
    sprints: MutableMapping[int, Sprint]
    epics: MutableMapping[str, Epic]
    # id -> key of a stage / an epic, made on first use and made again whenever it no longer
    # matches the mappings above (callers add to them: a new epic, the next sprint).
    _stage_keys: dict[int, str] = field(default_factory=dict, init=False, repr=False)
    _epic_keys: dict[int, str] = field(default_factory=dict, init=False, repr=False)

    def stage_by_id(self, stage_id: int | None) -> Stage | None:
        if stage_id is None:
            return None
        stage = _by_id(self.stages, self._stage_keys, stage_id)
        if stage is None:
            self._stage_keys = _keys_by_id(self.stages)
            stage = _by_id(self.stages, self._stage_keys, stage_id)
        return stage

    def epic_by_id(self, epic_id: int | None) -> Epic | None:
        if epic_id is None:
            return None
        epic = _by_id(self.epics, self._epic_keys, epic_id)
        if epic is None:
            self._epic_keys = _keys_by_id(self.epics)
            epic = _by_id(self.epics, self._epic_keys, epic_id)
        return epic

    def member_by_email(self, email: str) -> Membership | None:
        email = email.strip().lower()
        return next((m for m in self.members.values() if m.account.email == email), None)


def _by_id(objects: MutableMapping[str, Any], keys: dict[int, str], row_id: int) -> Any:
    key = keys.get(row_id)
    found = objects.get(key) if key is not None else None
    return found if found is not None and found.id == row_id else None


def _keys_by_id(objects: MutableMapping[str, Any]) -> dict[int, str]:
    if isinstance(objects, _Lazy):
        return objects.keys_by_id()  # without building the objects
    return {obj.id: key for key, obj in objects.items()}


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
    queries (members come with their accounts and roles in one); none when this web request
    has loaded them already and written nothing since, or when this process keeps a copy under
    the context stamp this transaction read (SharedContexts)."""
    cache = _request_cache(session)
    if cache is not None and (ctx := cache.get(project.id)) is not None and ctx.project is project:
        return ctx
    shared: SharedContexts | None = session.info.get(SHARED_CONTEXTS)
    copy = None
    if shared is not None:
        # As the queries would: a change not yet written is written first (and may stamp).
        if session.autoflush and (session.new or session.dirty or session.deleted):
            session.flush()
        stamp = fresh_context_stamp(session, project.id)
        if stamp is not None:
            copy = shared.get(project.id, stamp)
            if copy is None:
                copy = _read_copy(session, project.id)
                # kept when the stamp it was read under still stands
                if fresh_context_stamp(session, project.id) == stamp:
                    shared.put(project.id, stamp, copy)
    if copy is not None:
        ctx = _rebuild(session, project, copy)
    else:
        ctx = _query(session, project)
    if cache is not None:
        cache[project.id] = ctx
    return ctx


# A member's account and roles, joined in (its roles are a row each: read the result whole).
_MEMBER_LOADS = (joinedload(Membership.account, innerjoin=True), joinedload(Membership.role_rows))


def _query(session: Session, project: Project) -> ProjectContext:
    stages = session.scalars(
        select(Stage).where(Stage.project_id == project.id).order_by(Stage.position, Stage.id)
    )
    members = session.scalars(
        select(Membership)
        .where(Membership.project_id == project.id)
        .order_by(Membership.id)
        .options(*_MEMBER_LOADS)
    ).unique()
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


# --- the per-process copies ---------------------------------------------------------------------


class _Copy(NamedTuple):
    """A context's column values, in its order: plain tuples of immutable values."""

    stages: tuple[tuple, ...]
    members: tuple[tuple[tuple, tuple, tuple[str, ...]], ...]  # membership, account, roles
    sprints: tuple[tuple, ...]
    epics: tuple[tuple, ...]


class _Model(NamedTuple):
    """What copying a model's rows needs, worked out once per model."""

    mapper: Any
    keys: tuple[str, ...]  # the column attributes copied, the primary key's first
    key_size: int


_MODELS: dict[type, _Model] = {}


def _model(cls: type) -> _Model:
    model = _MODELS.get(cls)
    if model is None:
        mapper = inspect(cls)
        first = tuple(mapper.get_property_by_column(c).key for c in mapper.primary_key)
        if cls is Account:
            keys = ACCOUNT_IN_CONTEXT  # what changes its projects' context stamps
        else:
            keys = (*first, *(a.key for a in mapper.column_attrs if a.key not in first))
        model = _MODELS[cls] = _Model(mapper, keys, len(first))
    return model


@functools.cache
def _copy_statements():
    """The statements reading a copy (built once): each model's copied columns, in its keys'
    order, in the context's order; the members joined to their accounts; the roles apart."""

    def columns(cls: type) -> list:
        model = _model(cls)
        return [model.mapper.get_property(key).columns[0] for key in model.keys]

    project_id = bindparam("project_id")
    stages = (
        select(*columns(Stage))
        .where(Stage.project_id == project_id)
        .order_by(Stage.position, Stage.id)
    )
    members = (
        select(*columns(Membership), *columns(Account))
        .join(Account, Account.id == Membership.account_id)
        .where(Membership.project_id == project_id)
        .order_by(Membership.id)
    )
    roles = (
        select(MembershipRole.membership_id, MembershipRole.role)
        .join(Membership, Membership.id == MembershipRole.membership_id)
        .where(Membership.project_id == project_id)
        .order_by(MembershipRole.role)  # as Membership.role_rows orders them
    )
    sprints = (
        select(*columns(Sprint))
        .where(Sprint.project_id == project_id)
        .order_by(Sprint.start_date, Sprint.id)
    )
    epics = select(*columns(Epic)).where(Epic.project_id == project_id).order_by(Epic.id)
    return stages, members, roles, sprints, epics


def _read_copy(session: Session, project_id: int) -> _Copy:
    """A copy of the project's context, read from the database (five queries), after the stamp:
    never from objects the session holds, which may have been read before the stamp."""
    stages, members, roles, sprints, epics = _copy_statements()
    params = {"project_id": project_id}
    size = len(_model(Membership).keys)
    held: dict[int, list[str]] = {}
    for membership_id, role in session.execute(roles, params):
        held.setdefault(membership_id, []).append(role)
    return _Copy(
        stages=tuple(tuple(row) for row in session.execute(stages, params)),
        members=tuple(
            (tuple(row[:size]), tuple(row[size:]), tuple(held.get(row[0], ())))
            for row in session.execute(members, params)
        ),
        sprints=tuple(tuple(row) for row in session.execute(sprints, params)),
        epics=tuple(tuple(row) for row in session.execute(epics, params)),
    )


def _persistent(session: Session, cls: type, values: tuple, **relations: Any) -> Any:
    """The session's object of that row (as a query would give it, relations it has not loaded
    filled in), or a new one made persistent from the copied values, without a query."""
    model = _model(cls)
    identity = model.mapper.identity_key_from_primary_key(values[: model.key_size])
    obj = session.identity_map.get(identity)
    if obj is not None:
        loaded = inspect(obj).dict
        for name, value in relations.items():
            if name not in loaded:
                set_committed_value(obj, name, value)
        return obj
    obj = model.mapper.class_manager.new_instance()
    inspect(obj).dict.update(zip(model.keys, values, strict=True))
    for name, value in relations.items():
        set_committed_value(obj, name, value)
    make_transient_to_detached(obj)  # the columns not copied load when first used
    session.add(obj)
    return obj


def _rebuild(session: Session, project: Project, copy: _Copy) -> ProjectContext:
    """The context made from a copy (no query): each object is built in `session` when first
    asked for (a story's answer needs a handful of the context's objects, not all of them), and
    every one not built yet is built when the objects would otherwise differ from those the
    context's queries would have loaded (_build_rest)."""

    def member(values: tuple) -> Membership:
        membership, account, roles = values
        person = _persistent(session, Account, account)
        rows = [_persistent(session, MembershipRole, (membership[0], role)) for role in roles]
        m = _persistent(session, Membership, membership, account=person, role_rows=rows)
        _refreshed_like_the_query(m)
        return m

    def column(cls: type, name: str) -> Callable[[tuple], Any]:
        index = _model(cls).keys.index(name)
        return lambda values: values[index]

    account_id = column(Membership, "account_id")
    ctx = ProjectContext(
        project=project,
        stages=_Lazy(session, Stage, copy.stages, column(Stage, "key")),
        members=_Lazy(
            session,
            Membership,
            copy.members,
            lambda values: account_id(values[0]),
            make=member,
            row_id=lambda values: values[0][0],
        ),
        sprints=_Lazy(session, Sprint, copy.sprints, column(Sprint, "id")),
        epics=_Lazy(session, Epic, copy.epics, column(Epic, "key")),
    )
    _listen_for_lazy(session)
    made = session.info.setdefault(_FROM_COPIES, [])
    made[:] = [(p, ref) for p, ref in made if ref() is not None]  # those still in use
    # each mapping, not the context: a caller may keep a mapping and drop the context
    made.extend(
        (project.id, weakref.ref(objects))
        for objects in (ctx.stages, ctx.members, ctx.sprints, ctx.epics)
    )
    return ctx


class _Unbuilt(NamedTuple):
    values: Any  # a row's copied values (a member's: membership, account, roles)


class _Lazy(MutableMapping):
    """One of a context's mappings made from a worker's copy: each object is built in the
    session from the copy when first asked for."""

    __slots__ = ("_make", "_items", "_row_id", "__weakref__")

    def __init__(
        self,
        session: Session,
        cls: type,
        rows: tuple,
        key: Callable[[Any], Any],
        *,
        make: Callable[[Any], Any] | None = None,
        row_id: Callable[[Any], int] | None = None,
    ) -> None:
        self._make = make or functools.partial(_persistent, session, cls)
        self._row_id = row_id or (lambda values: values[0])
        self._items: dict[Any, Any] = {key(values): _Unbuilt(values) for values in rows}

    def __getitem__(self, key: Any) -> Any:
        item = self._items[key]
        if type(item) is _Unbuilt:
            item = self._items[key] = self._make(item.values)
        return item

    def __setitem__(self, key: Any, value: Any) -> None:
        self._items[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._items[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __repr__(self) -> str:
        return f"_Lazy({list(self._items)!r})"

    def keys_by_id(self) -> dict[int, Any]:
        """{row id: key} of every row, built or not, without building any."""
        return {
            (self._row_id(item.values) if type(item) is _Unbuilt else item.id): key
            for key, item in self._items.items()
        }

    def build_rest(self) -> None:
        for key, item in self._items.items():
            if type(item) is _Unbuilt:
                self._items[key] = self._make(item.values)


# In a session's info: the mappings of its contexts made from copies not built whole yet, as
# (project id, weak reference) pairs.
_FROM_COPIES = "planner.contexts_from_copies"


def _build_rest(session: Session, project_ids: set[int] | None = None) -> None:
    """Build every object not built yet of the session's contexts made from copies (of
    `project_ids`, or all), from the copies: what the context's queries would have loaded."""
    made = session.info.get(_FROM_COPIES)
    if not made:
        return
    rest = []
    for project_id, ref in made:
        objects = ref()
        if objects is None:
            continue
        if project_ids is not None and project_id not in project_ids:
            rest.append((project_id, ref))
            continue
        objects.build_rest()
    made[:] = rest


def _before_new_stamp(session: Session, project_ids: set[int]) -> None:
    # The transaction is about to change these projects' contexts: the objects queried contexts
    # would hold exist before the change, and take it as those would (an ORM update of them,
    # a bulk update synchronising them); built after it from the copy, they would not.
    _build_rest(session, project_ids)


BEFORE_NEW_STAMP.append(_before_new_stamp)


def _before_rollback_expires(session: Session) -> None:
    # A rollback of the transaction expires every object the session holds: a queried context's
    # too, which then read themselves again from the database. Built now, from the copy, the
    # objects not built yet are expired with them.
    if not session.in_nested_transaction():
        _build_rest(session)


BEFORE_EXPIRE_ALL.append(_build_rest)  # expire_all() expires everything the same way


def _listen_for_lazy(session: Session) -> None:
    if not event.contains(session, "after_rollback", _before_rollback_expires):
        event.listen(session, "after_rollback", _before_rollback_expires)


def _refreshed_like_the_query(membership: Membership) -> None:
    """Give a member built from a copy what SQLAlchemy gives a member the context's query loads
    (planner's own tests pin it: tests/test_shared_context.py): the query's loader options and
    path. Expired (by a rollback, `expire_all`, a savepoint rolled back), such a member loads
    its columns again with its account and roles joined in, as the query did, instead of
    refusing to read them (their relationships are `raise_on_sql`)."""
    state = inspect(membership)
    if not state.load_options:
        state.load_options = _MEMBER_LOADS
        state.load_path = inspect(Membership)._path_registry


class SharedContexts:
    """One process's copies of project contexts, each under the context stamp it was read at;
    the least recently used dropped beyond `size` projects."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._copies: OrderedDict[int, tuple[int, _Copy]] = OrderedDict()
        self._lock = threading.Lock()  # the dev server and browser tests serve from threads

    def get(self, project_id: int, stamp: int) -> _Copy | None:
        with self._lock:
            kept = self._copies.get(project_id)
            if kept is None or kept[0] != stamp:
                return None
            self._copies.move_to_end(project_id)
            return kept[1]

    def put(self, project_id: int, stamp: int, copy: _Copy) -> None:
        with self._lock:
            self._copies[project_id] = (stamp, copy)
            self._copies.move_to_end(project_id)
            while len(self._copies) > self.size:
                self._copies.popitem(last=False)


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


def next_counter(session: Session, project: Project, counter: str) -> int:
    """Hand out the next number of one of the project's key counters ("story_counter",
    "epic_counter"); concurrent callers get distinct ones. The UPDATE takes the project's row,
    before what the caller changed so far is written (taking_project_rows)."""
    taking_project_rows(session, [project.id])
    column = getattr(Project, counter)
    with session.no_autoflush:
        number = session.execute(
            update(Project)
            .where(Project.id == project.id)
            .values({column: column + 1})
            .returning(column)
            .execution_options(synchronize_session=False)
        ).scalar_one()
    setattr(project, counter, number)
    return number


def lock_project(session: Session, project: Project) -> None:
    """Hold the project's row until the transaction ends, so that rules counting its members
    (a project keeps a manager) see every concurrent change: SELECT ... FOR NO KEY UPDATE on
    PostgreSQL (as an UPDATE of the row takes; the changes of other writers, who only hold the
    row for their project_change rows' key, do not wait on it, nor it on them); on SQLite a no-op
    UPDATE, which takes the database's write lock."""
    taking_project_rows(session, [project.id])
    if session.get_bind().dialect.name == "sqlite":
        locking = (
            update(Project)
            .where(Project.id == project.id)
            .values(id=Project.id)
            .returning(Project.context_stamp)
        )
    else:
        locking = (
            select(Project.context_stamp)
            .where(Project.id == project.id)
            .with_for_update(key_share=True)
        )
    with session.no_autoflush:  # the lock first, then what the caller changed so far
        stamp = session.scalar(locking)
    # What the lock saw, not what the request read before it: a context changed in between is
    # read from the database, not from a worker's copy.
    if stamp is not None:
        note_stamp(session, project.id, stamp)
    _forget(session)  # a context loaded before the lock is loaded again
