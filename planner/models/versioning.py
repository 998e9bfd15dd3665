"""A project's change version: one number, bumped by one in the same transaction as any write that
a page of the project shows, so that "has anything changed?" costs one indexed read (the board
poll's ETag, planner/etags.py).

Every write is seen here, whichever way it is made:
- objects added, changed or deleted through the session (before_flush / after_flush);
- ORM-enabled and Core INSERT / UPDATE / DELETE statements run through `Session.execute`
  (do_orm_execute), which the flush never sees: bulk imports, bulk deletes, the delivery worker.

Each table has a rule naming the project(s) a row belongs to (RULES): its own `project_id`, or the
story / sprint / gate / risk / membership / milestone it belongs to (looked up in one query per
kind, the session's identity map first), or, for an account, every project it is a member of
(or owns a risk or decided a gate in: the dashboard names them after they leave).
Tables no project page shows are listed in NOT_SHOWN, with the reason. A table in neither list is
refused at its first write (UnversionedWrite) and by tests/test_project_version.py, so a new
model cannot be forgotten.

Each project is bumped once per transaction, at the first write that touches it and before that
write's rows: the transaction adds a row to project_change (`INSERT INTO project_change
(project_id)`), which takes no lock that another writer of the project waits for (on PostgreSQL a
key-share lock on the project's row, as any foreign key does). The project's version
(Project.change_version) is its folded part plus its project_change rows: it goes up by one at
the moment the write commits, and a rolled-back transaction adds nothing, so a reader never sees
a write without its new version. Now and then (one change in FOLD_EVERY, by its id) the request
that wrote it folds the project's committed rows into its row after its own work (fold_changes),
which leaves the version as it was, never waits and never fails the request.

Writes to a project's context (Rule.context) instead give it a new random context stamp and its
version's step on its folded part, in one `UPDATE project` that takes the rows of the projects
in id order (planner.domain.context keeps copies of contexts under the stamp). A writer takes a
project's row (that UPDATE, lock_project, the key counters) before it writes other rows of the
project, so that no two writers ever wait on each other in a circle: taking_project_rows says
when, and the tests refuse the other order (STRICT_LOCK_ORDER).
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import bindparam, case, delete, event, insert, inspect, select, union, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapper, ORMExecuteState, RelationshipDirection, Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.elements import BindParameter

from planner.models.base import Base

_log = logging.getLogger(__name__)

_BUMPED = "planner_bumped_projects"  # the projects already bumped in this transaction
_SEEN = "planner_versioned_rows"  # the (target, id) pairs already resolved in it
# The same two for the context stamp (rows of context tables, resolved on their own: a story's
# change seen first must not hide a stage's change of the same project).
_BUMPED_CONTEXT = "planner_context_bumped_projects"
_SEEN_CONTEXT = "planner_context_versioned_rows"
# The projects it bumped by a project_change row, without taking their rows.
_UNLOCKED = "planner_unlocked_projects"
# The projects whose rows it holds, and those it created (nobody else can take their rows before
# it commits).
_LOCKED = "planner_locked_projects"
_CREATED = "planner_created_projects"
_TRANSACTION_KEYS = (
    _BUMPED,
    _SEEN,
    _BUMPED_CONTEXT,
    _SEEN_CONTEXT,
    _UNLOCKED,
    _LOCKED,
    _CREATED,
)
# {project id: highest change id} of the projects whose changes are to be folded in after the
# request (fold_changes): one change in FOLD_EVERY asks for it, by its id.
FOLDS = "planner_fold_changes"
FOLD_EVERY = 64
# The context stamps read in this transaction: {project id: stamp} (fresh_context_stamp).
_FRESH = "planner_fresh_context_stamps"

# The columns of a member's account that a project's context keeps (planner.domain.context):
# a change of any of them gives each of the account's projects a new context stamp.
ACCOUNT_IN_CONTEXT = ("id", "email", "name", "is_active_account")

# Executing a statement with .execution_options(planner_versioned=True) tells the hook the
# caller has called touch() for it itself.
VERSIONED_OPTION = "planner_versioned"


class UnversionedWrite(RuntimeError):
    """A write whose project(s) cannot be told: give the table a rule, or call touch()."""


@dataclass(frozen=True)
class Rule:
    """How to find the projects of a row: (column of the row, what its value identifies).

    The target is "project" (a project id), "account" (every project the account is a member of),
    "story_links" (the projects of the stories a story blocks or is blocked by: a blocker's change
    shows on their cards), or another table of RULES (follow that row's own rule)."""

    refs: tuple[tuple[str, str], ...]
    # When set: only changes of these attributes matter (others are not shown).
    only: frozenset[str] | None = None
    # Changes of only these attributes do not matter (counters, the version itself).
    ignore: frozenset[str] = frozenset()
    # The table is part of a project's context (planner.domain.context: stages, members with
    # their accounts and roles, sprints, epics): its changes also give the project a new
    # context stamp, which the per-process copies of contexts are kept against.
    context: bool = False


_PROJECT = Rule((("project_id", "project"),))
_CONTEXT = Rule((("project_id", "project"),), context=True)
_STORY = Rule((("story_id", "story"),))
_GATE = Rule((("gate_id", "gate"),))

RULES: dict[str, Rule] = {
    # its settings, calendar, name; not the counters handing out keys nor the version itself
    "project": Rule(
        (("id", "project"),), ignore=frozenset({"folded_version", "story_counter", "epic_counter"})
    ),
    # people's names and e-mail addresses appear on every page of their projects
    # (the context keeps exactly these of a member's account: planner.domain.context)
    "account": Rule(
        (("id", "account"),), only=frozenset(ACCOUNT_IN_CONTEXT) - {"id"}, context=True
    ),
    "holiday": _PROJECT,
    "membership": _CONTEXT,
    "membership_role": Rule((("membership_id", "membership"),), context=True),
    "stage": _CONTEXT,
    "share_link": _PROJECT,
    "sprint": _CONTEXT,
    "sprint_capacity": Rule((("sprint_id", "sprint"),)),
    "epic": _CONTEXT,
    "story": Rule((("project_id", "project"), ("id", "story_links"))),
    "story_event": _STORY,
    "story_text_change": _STORY,
    "comment": _STORY,
    "checklist_item": _STORY,
    "outcome_record": _STORY,
    "story_watch": _STORY,  # the story page shows who watches
    "story_label": _STORY,
    "story_dependency": Rule((("blocker_id", "story"), ("blocked_id", "story"))),
    "label": _PROJECT,
    "saved_view": _PROJECT,
    # deleting one clears its epics' milestone_id in the database (ON DELETE SET NULL), which
    # the context's epics hold: a milestone's change is a change of the context
    "milestone": _CONTEXT,
    "milestone_forecast": Rule((("milestone_id", "milestone"),)),
    "risk": _PROJECT,
    "risk_change": Rule((("risk_id", "risk"),)),
    "risk_story": Rule((("risk_id", "risk"), ("story_id", "story"))),
    "gate": _PROJECT,
    "gate_criterion": _GATE,
    "gate_approver": _GATE,
    "gate_decision": _GATE,
    "artefact_link": _PROJECT,
    "webhook": _PROJECT,  # the project's webhook settings (a disabled hook says why)
}

NOT_SHOWN: dict[str, str] = {
    "api_token": "a person's tokens and when each was last used: the account page only",
    "email_preference": "a person's e-mail settings: the account page only",
    "notification": "a person's inbox: no project page shows it",
    "outbox_event": "the delivery queue of notifications and webhooks",
    "delivery": "the delivery queue of notifications and webhooks",
    "delivery_attempt": "the delivery queue of notifications and webhooks",
    "sprint_series": "a cache of what the stories and their events say, written while reading",
    "pending_import": "an upload waiting for its preview to be confirmed; applying it writes rows",
    "project_change": "the projects' change versions themselves (written by this module)",
}

# Targets that only existing rows can have: skipped for inserts (a new story blocks nothing yet).
_EXISTING_ONLY = {"story_links", "account"}


def _tables() -> Mapping[str, object]:
    return Base.metadata.tables


_MAPPERS: dict[str, Mapper] = {}


def _mapper_of(table_name: str) -> Mapper | None:
    if not _MAPPERS:
        _MAPPERS.update((m.local_table.name, m) for m in Base.registry.mappers)
    return _MAPPERS.get(table_name)


def _project_class() -> type:
    return _mapper_of("project").class_


def _bumped(session: Session, key: str = _BUMPED) -> set[int]:
    return session.info.setdefault(key, set())


def new_context_stamp() -> int:
    """A context stamp: random, so that no two states of any project's context share one, also
    across databases that a process opens one after another (tests, a restored backup)."""
    return secrets.randbits(62)


def touch(session: Session, project_ids: Iterable[int], *, context: bool = False) -> None:
    """Say that the projects changed in this transaction: each one's version goes up by one, the
    first time in the transaction (the hooks call this; call it yourself only for writes they
    cannot see, such as rows written through `session.connection()`). With `context`, their
    context changed as well (stages, members, roles, sprints, epics, members' names): each gets
    a new context stamp, once per transaction."""
    ids = {int(p) for p in project_ids if p is not None}
    _touch(session, set() if context else ids, ids if context else set())


class LockOrderError(RuntimeError):
    """A transaction is about to take a project's row after it wrote rows of the project without
    it: another writer holding the project's row and waiting for one of those rows would wait in
    a circle. Take the project's row (lock_project) before the first write instead."""


# Set by the tests: a lock taken in the wrong order raises LockOrderError there; elsewhere the
# transaction goes on (PostgreSQL ends such a circle by failing one of the two) and it is logged.
STRICT_LOCK_ORDER = False


def taking_project_rows(session: Session, project_ids: Iterable[int]) -> None:
    """Say that the transaction is about to take the rows of these projects (a context stamp,
    lock_project, the key counters): writers take a project's row before the rows they write of
    it, so that no two of them ever wait on each other in a circle."""
    ids = set(project_ids)
    late = ids & session.info.get(_UNLOCKED, set())
    _bumped(session, _LOCKED).update(ids)
    if not late:
        return
    message = (
        f"project {sorted(late)}: its row is taken after rows of it were written in the same "
        "transaction; take it first (lock_project)."
    )
    if STRICT_LOCK_ORDER:
        raise LockOrderError(message)
    _log.warning(message)


def fold_changes(connection: Connection, folds: Mapping[int, int]) -> None:
    """Fold each project's committed project_change rows up to the given id into its version, in
    one transaction per project that first takes the project's row (so two folds of a project
    never count a row twice): the version stays what it was. A fold never waits and never fails
    its caller: a project whose row another transaction holds is left for a later fold (its rows
    count where they are), and a database error is logged."""
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:  # the write lock, taken at once or not at all
        waited = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        connection.exec_driver_sql("PRAGMA busy_timeout=0")
        connection.commit()
    try:
        for project_id, upto in sorted(folds.items()):
            try:
                with connection.begin():
                    _fold(connection, project_id, upto)
            except OperationalError as exc:
                if not (sqlite and "locked" in str(exc.orig)):
                    _log.warning("project %s: its changes were not folded: %s", project_id, exc)
    finally:
        if sqlite:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={int(waited or 0)}")
            connection.commit()


def _fold(connection: Connection, project_id: int, upto: int) -> None:
    project, change = _tables()["project"], _tables()["project_change"]
    if connection.dialect.name == "sqlite":
        locking = (
            update(project)
            .where(project.c.id == project_id)
            .values(id=project.c.id)
            .returning(project.c.id)
        )
    else:
        locking = (
            select(project.c.id)
            .where(project.c.id == project_id)
            .with_for_update(key_share=True, skip_locked=True)
        )
    if connection.execute(locking).first() is None:
        return  # its row is another transaction's just now, or it was deleted with its changes
    gone = connection.execute(
        delete(change).where(change.c.project_id == project_id, change.c.id <= upto)
    ).rowcount
    if gone:
        connection.execute(
            update(project)
            .where(project.c.id == project_id)
            .values(change_version=project.c.change_version + gone)
        )


# Called as hook(session, project ids) just before the statement that gives projects a new
# context stamp: the first context change of a transaction per project, before the changed rows
# are written (a new row whose project the flush fills in stamps just after its INSERT, which
# changes no row a copy holds). planner.domain.context builds then what it has not built yet of
# a context made from a worker's copy.
BEFORE_NEW_STAMP: list[Callable[[Session, set[int]], None]] = []


def _touch(
    session: Session, plain: set[int], context: set[int], links: set[int] = frozenset()
) -> None:
    """Bump the projects `plain` and `context` once in the transaction, and stamp those of
    `context`: a new context stamp takes the project's row (every stamped project in one
    statement, its rows locked in id order, so two writers lock in the same order); a plain
    change only adds a row to project_change, which waits on nobody. `links`: stories whose
    linked stories' projects are bumped as plain ones too, found by the same INSERT."""
    bumped = _bumped(session)
    stamped = context - _bumped(session, _BUMPED_CONTEXT)
    added = (plain | context) - bumped - stamped
    if not added and not stamped and not links:
        return
    mapper = _mapper_of("project")
    if stamped:
        for hook in BEFORE_NEW_STAMP:
            hook(session, stamped)
        taking_project_rows(session, stamped)
        # A project bumped already in this transaction keeps its version when only its stamp is
        # new.
        parameters = {
            "ids": sorted(stamped),
            "again": sorted(stamped & bumped),
            "stamp": new_context_stamp(),
        }
        rows = session.connection().execute(_stamp_statement(), parameters).all()
        fresh = session.info.get(_FRESH)
        for project_id, stamp in rows:
            if fresh:
                fresh.pop(project_id, None)
            obj = session.identity_map.get(mapper.identity_key_from_primary_key([project_id]))
            if obj is not None:
                set_committed_value(obj, "context_stamp", stamp)
    if links:
        # The projects `added` and those of the stories linked to `links`, each once.
        changes = session.connection().execute(
            _change_with_links_statement(),
            {"known": sorted(added), "links": sorted(links), "skip": sorted(bumped | stamped)},
        )
    elif added:
        changes = session.connection().execute(
            _change_statement(), [{"project_id": project_id} for project_id in sorted(added)]
        )
    else:
        changes = ()
    folds = session.info.setdefault(FOLDS, {})
    for change_id, project_id in changes:
        added.add(project_id)
        if change_id % FOLD_EVERY == 0:
            folds[project_id] = max(change_id, folds.get(project_id, 0))
    if added:
        held = session.info.get(_LOCKED, set()) | session.info.get(_CREATED, set())
        _bumped(session, _UNLOCKED).update(added - held)
    bumped.update(added | stamped)
    _bumped(session, _BUMPED_CONTEXT).update(stamped)
    # The session's Project objects read their version again when next asked (the sessions keep
    # objects after commit; what the others committed meanwhile counts too).
    for project_id in added | stamped:
        obj = session.identity_map.get(mapper.identity_key_from_primary_key([project_id]))
        if obj is not None:
            session.expire(obj, ["change_version"])


@functools.cache
def _change_statement():
    """touch()'s INSERT of one project_change row per project (built once)."""
    change = _tables()["project_change"]
    return (
        insert(change)
        .values(project_id=bindparam("project_id"))
        .returning(change.c.id, change.c.project_id, sort_by_parameter_order=True)
    )


@functools.cache
def _change_with_links_statement():
    """touch()'s INSERT when a story changed: one project_change row for each project of `known`
    and of the stories `links` block or are blocked by, leaving out those of `skip` (built
    once; one statement where the lookup and the INSERT were two)."""
    change, project = _tables()["project_change"], _tables()["project"]
    known = select(project.c.id.label("project_id")).where(
        project.c.id.in_(bindparam("known", expanding=True))
    )
    projects = union(known, *_linked_selects(bindparam("links", expanding=True))).subquery()
    wanted = (
        select(projects.c.project_id)
        .where(projects.c.project_id.not_in(bindparam("skip", expanding=True)))
        .order_by(projects.c.project_id)  # their keys locked in id order, as by the other INSERT
    )
    return (
        insert(change)
        .from_select(["project_id"], wanted)
        .returning(change.c.id, change.c.project_id)
    )


@functools.cache
def _stamp_statement():
    """touch()'s UPDATE when contexts changed: the projects `ids` get the new `stamp`, and their
    folded version goes up by one unless the transaction bumped them already (`again`)."""
    project = _tables()["project"]
    again = project.c.id.in_(bindparam("again", expanding=True))
    return (
        update(project)
        .where(project.c.id.in_(bindparam("ids", expanding=True)))
        .values(
            change_version=project.c.change_version + case((again, 0), else_=1),
            context_stamp=bindparam("stamp"),
        )
        .returning(project.c.id, project.c.context_stamp)
    )


# --- finding the projects -----------------------------------------------------------------------


class _Refs:
    """Ids gathered per target, resolved to project ids with one query per kind."""

    def __init__(self, *, context: bool = False) -> None:
        self.ids: dict[str, set[int]] = defaultdict(set)
        self.context = context  # for the context stamp: its own record of what was resolved

    def add(self, target: str, value: object) -> None:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)  # an id sent as text: the database casts it, and so do we
        if isinstance(value, int) and not isinstance(value, bool):
            self.ids[target].add(value)

    def resolve(self, session: Session, links: set[int] | None = None) -> set[int]:
        """The projects of the gathered ids, leaving out ids already resolved (and so bumped) in
        this transaction: the flush hooks see a changed row twice. With `links`, the stories
        whose linked stories' projects are wanted are put there instead of looked up (_touch
        finds those projects in the statement that bumps them)."""
        projects: set[int] = set()
        seen = session.info.setdefault(_SEEN_CONTEXT if self.context else _SEEN, set())
        pending = {}
        for target, ids in self.ids.items():
            fresh = {i for i in ids if (target, i) not in seen}
            seen.update((target, i) for i in fresh)
            if fresh:
                pending[target] = fresh
        for _depth in range(4):  # membership_role -> membership -> project is the deepest
            if not pending:
                break
            following: dict[str, set[int]] = defaultdict(set)
            for target, ids in pending.items():
                if target == "project":
                    projects |= ids
                elif target == "account":
                    projects |= _members_projects(session, ids)
                elif target == "story_links":
                    if links is None:
                        projects |= _linked_story_projects(session, ids)
                    else:
                        links |= ids
                else:
                    for ref_target, value in _parent_refs(session, target, ids):
                        if isinstance(value, int):
                            following[ref_target].add(value)
            # A parent resolved earlier in the transaction (the story whose own change was seen
            # before its text change's row) has had its projects bumped already.
            pending = {}
            for target, ids in following.items():
                fresh = {i for i in ids if (target, i) not in seen}
                seen.update((target, i) for i in fresh)
                if fresh:
                    pending[target] = fresh
        return projects


def _members_projects(session: Session, account_ids: set[int]) -> set[int]:
    """The projects whose pages show the accounts' names: those they are members of, and those
    where they own a risk or decided a gate (the dashboard names them after they left)."""
    membership, risk = _tables()["membership"], _tables()["risk"]
    gate, decision = _tables()["gate"], _tables()["gate_decision"]
    return set(
        session.connection().scalars(
            union(
                select(membership.c.project_id).where(membership.c.account_id.in_(account_ids)),
                select(risk.c.project_id).where(risk.c.owner_id.in_(account_ids)),
                select(gate.c.project_id)
                .join(decision, decision.c.gate_id == gate.c.id)
                .where(decision.c.decided_by_id.in_(account_ids)),
            )
        )
    )


def _linked_story_projects(session: Session, story_ids: set[int]) -> set[int]:
    return set(session.connection().scalars(_linked_statement(), {"ids": sorted(story_ids)}))


@functools.cache
def _linked_statement():
    """The projects of the stories that `ids` block or are blocked by (built once)."""
    return union(*_linked_selects(bindparam("ids", expanding=True)))


def _linked_selects(ids: BindParameter) -> tuple:
    """The two halves of _linked_statement: the projects of the stories `ids` block, and of
    those blocking them."""
    dep, story = _tables()["story_dependency"], _tables()["story"]
    blocked = (
        select(story.c.project_id)
        .join(dep, dep.c.blocked_id == story.c.id)
        .where(dep.c.blocker_id.in_(ids))
    )
    blockers = (
        select(story.c.project_id)
        .join(dep, dep.c.blocker_id == story.c.id)
        .where(dep.c.blocked_id.in_(ids))
    )
    return blocked, blockers


def _parent_refs(session: Session, table_name: str, ids: set[int]) -> list[tuple[str, object]]:
    """The (target, value) pairs of the rows `ids` of `table_name`: from the session's identity
    map where the row is there with its columns loaded, else one query for the rest."""
    rule = RULES[table_name]
    found: list[tuple[str, object]] = []
    mapper = _mapper_of(table_name)
    missing = set(ids)
    if mapper is not None:
        keys = [
            (mapper.get_property_by_column(mapper.local_table.c[c]).key, t) for c, t in rule.refs
        ]
        for row_id in ids:
            obj = session.identity_map.get(mapper.identity_key_from_primary_key([row_id]))
            if obj is None:
                continue
            loaded = inspect(obj).dict
            if all(key in loaded for key, _ in keys):
                found.extend((target, loaded[key]) for key, target in keys)
                missing.discard(row_id)
    if missing:
        table = _tables()[table_name]
        columns = [table.c[c] for c, _ in rule.refs]
        for row in session.connection().execute(select(*columns).where(table.c.id.in_(missing))):
            found.extend((target, value) for (_, target), value in zip(rule.refs, row, strict=True))
    return found


def _rule_for(table) -> Rule | None:
    """The rule of one of planner's tables; None for a table of another library's models that
    shares the process (MLflow's store, written through its own SQLAlchemy sessions)."""
    if getattr(table, "metadata", None) is not Base.metadata:
        return None
    return _rule_of(table.name)


def _rule_of(table_name: str) -> Rule | None:
    """The table's rule; None when no project page shows it; UnversionedWrite when unclassified."""
    if table_name in NOT_SHOWN:
        return None
    rule = RULES.get(table_name)
    if rule is None:
        raise UnversionedWrite(
            f"Table {table_name!r} has no rule in planner.models.versioning: add it to RULES "
            "(which projects show its rows) or to NOT_SHOWN."
        )
    return rule


def _changed_keys(obj: object) -> set[str]:
    state = inspect(obj)
    collections = _child_collections(state.mapper)
    return {
        attr.key
        for attr in state.attrs
        if attr.key not in collections and attr.history.has_changes()
    }


@functools.cache
def _child_collections(mapper: Mapper) -> frozenset[str]:
    """The one-to-many relationships of a mapper: appending to one writes the child's row (whose
    own rule counts it), not the parent's (a milestone's forecasts, loaded and appended to)."""
    return frozenset(
        r.key for r in mapper.relationships if r.direction is RelationshipDirection.ONETOMANY
    )


def _matters(rule: Rule, keys: set[str]) -> bool:
    if not keys:
        return False  # a no-op change
    if rule.only is not None and not keys & rule.only:
        return False
    return not keys <= rule.ignore


class _Gathered:
    """What a flush wrote, gathered by rule: the rows of context tables apart (they give their
    projects a new context stamp as well)."""

    def __init__(self) -> None:
        self.plain = _Refs()
        self.context = _Refs(context=True)

    def touch(self, session: Session) -> None:
        # One statement for both: two would lock a story's project and then a stage's, out of
        # id order (two such flushes could deadlock).
        links: set[int] = set()
        plain = self.plain.resolve(session, links)
        _touch(session, plain, self.context.resolve(session), links)


def _gather_objects(objects: Iterable[object], gathered: _Gathered, *, new: bool, dirty: bool):
    for obj in objects:
        mapper = inspect(obj).mapper
        rule = _rule_for(mapper.local_table)
        if rule is None:
            continue
        if dirty and not _matters(rule, _changed_keys(obj)):
            continue
        refs = gathered.context if rule.context else gathered.plain
        state = inspect(obj)
        for column, target in rule.refs:
            if new and target in _EXISTING_ONLY:
                continue
            key = mapper.get_property_by_column(mapper.local_table.c[column]).key
            refs.add(target, state.dict[key] if key in state.dict else getattr(obj, key))
            if dirty:  # a row moved to another parent changes the old one's pages too
                for old in state.attrs[key].history.deleted or ():
                    refs.add(target, old)


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context, _instances) -> None:
    # Bump before the rows are written, so that a writer takes its project's row first and then
    # the rest, as lock_project and the key counters do (no two writers wait on each other in
    # opposite orders), and every project of the flush in one statement, in id order: changed
    # and deleted rows (a deleted row's parents still exist), and new rows whose parent is
    # already known (after_flush bumps those whose parent the flush itself fills in).
    if session.deleted or session.dirty or session.new:
        # A project's own row written by the flush (its settings, its key counters) is taken
        # by it: in order only if no rows of the project were written before without it.
        project = _project_class()
        rows = [o.id for o in session.deleted if isinstance(o, project)]
        rows += [o.id for o in session.dirty if isinstance(o, project) and _changed_keys(o)]
        if rows:
            taking_project_rows(session, rows)
        gathered = _Gathered()
        _gather_objects(list(session.deleted), gathered, new=False, dirty=False)
        _gather_objects(list(session.dirty), gathered, new=False, dirty=True)
        _gather_objects(list(session.new), gathered, new=True, dirty=False)
        gathered.touch(session)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    # New rows: their foreign keys are set by now (also those given as relationships); changed
    # rows again, for a parent given as a relationship (touch() bumps each project once).
    created = [o.id for o in session.new if isinstance(o, _project_class())]
    if created:
        _bumped(session, _CREATED).update(created)
    gathered = _Gathered()
    _gather_objects(list(session.new), gathered, new=True, dirty=False)
    _gather_objects(list(session.dirty), gathered, new=False, dirty=True)
    gathered.touch(session)


# --- statements run through Session.execute ----------------------------------------------------


def _column_name(table, key: object) -> str:
    """The column name of a values()/parameters key: a name, an attribute key or a column."""
    name = getattr(key, "key", key)
    name = str(name)
    if name in table.c:
        return name
    mapper = _mapper_of(table.name)
    if mapper is not None and name in mapper.attrs:
        prop = mapper.attrs[name]
        columns = getattr(prop, "columns", None)
        if columns:
            return columns[0].name
    return name


def _rows_of(statement, parameters) -> list[dict[str, object]]:
    """The rows an INSERT (or an UPDATE by primary key) writes, as {column name: value}."""
    table = statement.table
    rows: list[dict] = []
    multi = getattr(statement, "_multi_values", ())
    for batch in multi or ():
        rows.extend(batch)
    single = getattr(statement, "_values", None)
    if single:
        rows.append(dict(single))
    if isinstance(parameters, Mapping) and parameters:
        rows = [{**row, **parameters} for row in rows] if rows else [dict(parameters)]
    elif isinstance(parameters, list | tuple) and parameters:
        rows = [{**row, **p} for row in (rows or [{}]) for p in parameters]
    return [{_column_name(table, k): v for k, v in row.items()} for row in rows]


def _attr_key(table, key: object) -> str:
    """The attribute key (as a rule's only / ignore name it) of a values()/parameters key."""
    name = _column_name(table, key)
    mapper = _mapper_of(table.name)
    if mapper is not None and name in table.c:
        return mapper.get_property_by_column(table.c[name]).key
    return name


def _set_values(statement) -> dict:
    """What an UPDATE's values() or ordered_values() set, as {key: value or bindparam()}."""
    values = dict(getattr(statement, "_values", None) or {})
    values.update(dict(getattr(statement, "_ordered_values", None) or ()))
    return values


def _set_keys(statement, parameters) -> set[str]:
    """The attribute keys an UPDATE sets: its values(), and the columns its parameters name
    (a list of them, or one dict)."""
    table = statement.table
    keys = {_attr_key(table, k) for k in _set_values(statement)}
    if isinstance(parameters, list | tuple):
        for p in parameters:
            keys |= {_attr_key(table, k) for k in p}
    elif isinstance(parameters, Mapping):
        keys |= {_attr_key(table, k) for k in parameters if _column_name(table, k) in table.c}
    return keys


def _set_rows(statement, parameters) -> list[dict[str, object]]:
    """What an UPDATE sets, per set of parameters, as {column name: value}: the columns the
    parameters name, then its values(), each bindparam() filled from that set (values() wins,
    as SQLAlchemy's SET clause has it)."""
    table = statement.table
    values = _set_values(statement)
    if isinstance(parameters, list | tuple) and parameters:
        sets = list(parameters)
    else:
        sets = [parameters if isinstance(parameters, Mapping) else {}]
    rows = []
    for p in sets:
        row = {name: value for k, value in p.items() if (name := _column_name(table, k)) in table.c}
        for k, value in values.items():
            if isinstance(value, BindParameter):
                value = p.get(value.key, value.value)
            row[_column_name(table, k)] = value
        rows.append(row)
    return rows


def _is_literal(value: object) -> bool:
    return not isinstance(value, ClauseElement)


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    statement = state.statement
    if state.execution_options.get(VERSIONED_OPTION) or statement.get_execution_options().get(
        VERSIONED_OPTION
    ):
        return
    table = statement.table
    rule = _rule_for(table)
    if rule is None:
        return
    session = state.session
    refs = _Refs(context=rule.context)
    parameters = state.parameters
    by_rows = state.is_insert or (
        statement.whereclause is None and isinstance(parameters, list | tuple) and parameters
    )
    if state.is_update:
        keys = _set_keys(statement, parameters) - {
            "id"
        }  # the lock idiom "SET id = id" changes nothing
        if keys and not _matters(rule, keys):
            return
        if not keys and not by_rows:
            return
    if state.is_insert:
        if table.name == "project":
            return  # a new project: nobody has seen it yet
        rows = _rows_of(statement, parameters)
        if getattr(statement, "select", None) is not None or not rows:
            raise UnversionedWrite(
                f"INSERT INTO {table.name} from a query or with no values: cannot tell its "
                "project; call touch() and mark the statement "
                f"execution_options({VERSIONED_OPTION}=True)."
            )
        for row in rows:
            for column, target in rule.refs:
                if target in _EXISTING_ONLY:
                    continue
                value = row.get(column)
                if value is None or not _is_literal(value):
                    raise UnversionedWrite(
                        f"INSERT INTO {table.name}: cannot tell its project from {column}; "
                        "pass the value, or call touch() and mark the statement "
                        f"execution_options({VERSIONED_OPTION}=True)."
                    )
                refs.add(target, value)
    else:
        columns = [table.c[c] for c, _ in rule.refs]
        query = select(*columns)
        if by_rows:
            ids = [p.get("id") for p in parameters]
            query = query.where(table.c.id.in_([i for i in ids if i is not None]))
        elif statement.whereclause is not None:
            query = query.where(statement.whereclause)
        else:
            query = query.select_from(table)
        # The statement's own parameters fill any bindparam() of its WHERE (once per set).
        if by_rows or not parameters:
            sets = [{}]
        elif isinstance(parameters, Mapping):
            sets = [parameters]
        else:
            sets = list(parameters)
        connection = session.connection()
        for values in sets:
            for row in connection.execute(query, values):
                for (_, target), value in zip(rule.refs, row, strict=True):
                    refs.add(target, value)
        if state.is_update:
            _add_new_parents(rule, statement, parameters, refs)
        if table.name == "project":  # the statement takes the projects' rows
            taking_project_rows(session, refs.ids.get("project", ()))
    touch(session, refs.resolve(session), context=rule.context)


def _add_new_parents(rule: Rule, statement, parameters, refs: _Refs) -> None:
    """An UPDATE that sets a row's reference column moves the row: the new parent's pages change
    as much as the old one's (read above). A value the statement computes in SQL cannot be told
    here: the caller touches it itself."""
    table = statement.table
    for row in _set_rows(statement, parameters):
        for column, target in rule.refs:
            if column not in row or target in _EXISTING_ONLY:
                continue
            value = row[column]
            if value is None:
                continue
            if not _is_literal(value):
                raise UnversionedWrite(
                    f"UPDATE {table.name} sets {column} from SQL: cannot tell its new "
                    "project; pass the value, or call touch() and mark the statement "
                    f"execution_options({VERSIONED_OPTION}=True)."
                )
            refs.add(target, value)


# --- the transaction's end --------------------------------------------------------------------


# What taking_project_rows knows (the rows held, those written without them, the projects
# created), as it was when each savepoint began: a savepoint rolled back undoes its writes and
# releases the locks taken in it, and what was known before it holds again.
_LOCK_KEYS = (_LOCKED, _UNLOCKED, _CREATED)
_LOCK_MARKS = "planner_lock_order_at_savepoints"


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction) -> None:
    if transaction.nested:
        marks = session.info.setdefault(_LOCK_MARKS, {})
        marks[transaction] = {key: set(session.info.get(key, ())) for key in _LOCK_KEYS}


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, previous_transaction) -> None:
    # A savepoint rolled back may have undone a bump: bump again at the next write (at worst a
    # version moves by two in one transaction). A stamp it undid stays out of _FRESH (touch()
    # took the project out), so the context is read from the database until the transaction ends.
    for key in _TRANSACTION_KEYS:
        if key not in _LOCK_KEYS:
            session.info.pop(key, None)
    # A flush failing inside a savepoint rolls back the flush's own subtransaction, which rolls
    # back the savepoint in the database: the savepoint is the first nested one up the chain.
    savepoint = previous_transaction
    while savepoint is not None and not savepoint.nested:
        savepoint = savepoint.parent
    mark = session.info.get(_LOCK_MARKS, {}).pop(savepoint, None) if savepoint else None
    if mark is not None:
        session.info.update(mark)


@event.listens_for(Session, "after_transaction_end")
def _forget_at_end(session: Session, transaction) -> None:
    if transaction.parent is None:
        for key in (*_TRANSACTION_KEYS, _FRESH, _LOCK_MARKS):
            session.info.pop(key, None)


# --- the context stamps read in this transaction -----------------------------------------------


def fresh_context_stamp(session: Session, project_id: int) -> int | None:
    """The project's context stamp as this transaction read it from the database, None when it
    has not read the project's row (its Project object was kept from an earlier transaction) or
    has changed the project's context since (planner.domain.context trusts only this one)."""
    return session.info.get(_FRESH, {}).get(project_id)


def note_stamp(session: Session, project_id: int, stamp: int) -> None:
    """Note the project's context stamp as a statement of this transaction just read it (one
    taking the project's row lock reads the latest)."""
    if project_id not in session.info.get(_BUMPED_CONTEXT, ()):
        session.info.setdefault(_FRESH, {})[project_id] = stamp


def _read_stamp(target, context, attrs=None) -> None:
    session = getattr(context, "session", None)
    if session is None or (attrs is not None and "context_stamp" not in attrs):
        return
    project_id = target.id
    if project_id in session.info.get(_BUMPED_CONTEXT, ()):
        return  # this transaction's own stamp, not committed
    stamp = inspect(target).dict.get("context_stamp")
    if stamp is not None:
        session.info.setdefault(_FRESH, {})[project_id] = stamp


def listen_for_stamps(project_class) -> None:
    """Note each Project row read (and refreshed) in a transaction with its context stamp."""
    event.listen(project_class, "load", _read_stamp)
    event.listen(project_class, "refresh", _read_stamp)
