"""A worker's copies of project contexts (planner.domain.context, issue 16): a request that finds
a copy under the context stamp it read builds the context without a query, and every change of
a stage, member, role, member's name, sprint or epic, made in any session and any way, gives the
project a new stamp, so the next request reads the change (planner.models.versioning)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from planner import db
from planner.db import get_db
from planner.domain import projects as project_rules
from planner.domain.context import SharedContexts, load_context, lock_project
from planner.domain.epics import create_epic
from planner.domain.milestones import create_milestone, delete_milestone
from planner.domain.sprints import start_sprint
from planner.models import Account, Epic, Membership, Project, Stage, Story, versioning
from tests import factories

# The context's queries: four for a context read without a copy, five for a copy read
CONTEXT_QUERY = re.compile(r"^SELECT (stage|membership|membership_role|sprint|epic)\.")

STAGES = [
    ("problem_framing", "Problem framing"),
    ("data_collection", "Data collection"),
    ("data_labeling", "Data labeling"),
    ("data_preparation", "Data preparation & features"),
    ("modeling", "Modeling & training"),
    ("evaluation", "Evaluation"),
    ("deployment", "Deployment"),
    ("monitoring", "Monitoring & maintenance"),
]
MEMBERS = [
    ("maya@example.com", "Maya Okafor", True, "manage", ["scrum_master"]),
    ("priya@example.com", "Priya Raman", True, "edit", ["data_scientist"]),
    ("helen@example.com", "Helen Brooks", True, "view", ["stakeholder"]),
]


def summary(ctx) -> dict:
    """What a context holds, as plain values."""
    return {
        "stages": [(s.key, s.name, s.archived) for s in ctx.stages.values()],
        "members": [
            (m.account.email, m.account.name, m.account.is_active, m.access, m.roles)
            for m in ctx.members.values()
        ],
        "sprints": [(s.name, s.state) for s in ctx.sprints.values()],
        "epics": [(e.key, e.title) for e in ctx.epics.values()],
    }


@contextmanager
def fraud_request(app, key: str = "FRAUD") -> Iterator[tuple[Session, Project]]:
    """A request's session with the project read first, as the access check reads it."""
    with app.test_request_context():
        session = db.session()
        yield session, session.scalar(select(Project).where(Project.key == key))


@contextmanager
def statements_of(app) -> Iterator[list[str]]:
    """The SQL statements run on the app's engine while the block runs."""
    statements: list[str] = []

    def listener(conn, cursor, statement, *_):
        statements.append(statement)

    engine = get_db(app).engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)


@pytest.fixture
def read(app):
    """Load FRAUD's context as a request does (its project read first, in the request's own
    session): returns its summary and the context queries it ran."""

    def read_context(key: str = "FRAUD") -> tuple[dict, list[str]]:
        with statements_of(app) as statements, fraud_request(app, key) as (session, project):
            seen = summary(load_context(session, project))
            session.commit()
        return seen, [s for s in statements if CONTEXT_QUERY.match(s)]

    return read_context


@pytest.fixture
def fraud(db_session, team):
    factories.sprint(db_session, team.project, "Sprint 1", date(2026, 3, 2), date(2026, 3, 13))
    create_epic(db_session, load_context(db_session, team.project), {"title": "Labeling"})
    db_session.commit()
    return team.project


EXPECTED = {
    "stages": [(key, name, False) for key, name in STAGES],
    "members": MEMBERS,
    "sprints": [("Sprint 1", "planned")],
    "epics": [("E1", "Labeling")],
}


def test_the_second_request_builds_the_context_from_the_copy_without_a_query(read, fraud):
    first, queries = read()
    assert first == EXPECTED
    assert len(queries) == 5  # the copy: stages, members, roles, sprints, epics
    second, queries = read()
    assert second == EXPECTED
    assert queries == []


def _rename_stage(session, project):
    stage = session.scalar(select(Stage).where(Stage.key == "modeling"))
    project_rules.rename_stage(session, stage, "Model building")


def _archive_stage_in_bulk(session, project):
    session.execute(update(Stage).where(Stage.key == "monitoring").values(archived=True))


def _add_member(session, project):
    person = factories.account(session, "omar@example.com", "Omar Haddad")
    factories.member(session, project, person, "edit", ["ml_engineer", "data_engineer"])


def _change_roles(session, project):
    priya = load_context(session, project).member_by_email("priya@example.com")
    project_rules.update_member(session, project, priya, access="edit", roles=["ml_engineer"])


def _remove_member(session, project):
    helen = session.scalar(
        select(Membership).join(Account).where(Account.email == "helen@example.com")
    )
    project_rules.remove_member(session, project, helen)


def _rename_account(session, project):
    session.scalar(select(Account).where(Account.email == "priya@example.com")).name = "Priya R."


def _deactivate_account_in_bulk(session, project):
    session.execute(
        update(Account).where(Account.email == "helen@example.com").values(is_active_account=False)
    )


def _start_sprint(session, project):
    (sprint,) = load_context(session, project).sprints.values()
    start_sprint(session, project, sprint, now=datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


def _add_epic(session, project):
    create_epic(session, load_context(session, project), {"title": "Drift monitor"})


def _retitle_epic_by_parameters(session, project):
    epic_id = session.scalar(select(Epic.id).where(Epic.key == "E1"))
    session.execute(update(Epic), [{"id": epic_id, "title": "Labeling, round 2"}])


def _with(changes: dict) -> dict:
    return {**EXPECTED, **changes}


CHANGES: list[tuple[str, Callable, dict]] = [
    (
        "stage renamed",
        _rename_stage,
        _with(
            {"stages": [(k, "Model building" if k == "modeling" else n, False) for k, n in STAGES]}
        ),
    ),
    (
        "stage archived by a bulk UPDATE",
        _archive_stage_in_bulk,
        _with({"stages": [(k, n, k == "monitoring") for k, n in STAGES]}),
    ),
    (
        "member added with two roles",
        _add_member,
        _with(
            {
                "members": [
                    *MEMBERS,
                    (
                        "omar@example.com",
                        "Omar Haddad",
                        True,
                        "edit",
                        ["ml_engineer", "data_engineer"],  # the order of docs/rules.md
                    ),
                ]
            }
        ),
    ),
    (
        "member's roles changed",
        _change_roles,
        _with(
            {
                "members": [
                    MEMBERS[0],
                    ("priya@example.com", "Priya Raman", True, "edit", ["ml_engineer"]),
                    MEMBERS[2],
                ]
            }
        ),
    ),
    ("member removed", _remove_member, _with({"members": MEMBERS[:2]})),
    (
        "member's account renamed",
        _rename_account,
        _with(
            {
                "members": [
                    MEMBERS[0],
                    ("priya@example.com", "Priya R.", True, "edit", ["data_scientist"]),
                    MEMBERS[2],
                ]
            }
        ),
    ),
    (
        "member's account deactivated by a bulk UPDATE",
        _deactivate_account_in_bulk,
        _with(
            {
                "members": [
                    *MEMBERS[:2],
                    ("helen@example.com", "Helen Brooks", False, "view", ["stakeholder"]),
                ]
            }
        ),
    ),
    ("sprint started", _start_sprint, _with({"sprints": [("Sprint 1", "active")]})),
    (
        "epic added",
        _add_epic,
        _with({"epics": [("E1", "Labeling"), ("E2", "Drift monitor")]}),
    ),
    (
        "epic retitled by an UPDATE with parameters",
        _retitle_epic_by_parameters,
        _with({"epics": [("E1", "Labeling, round 2")]}),
    ),
]


@pytest.mark.parametrize(
    ("change", "expected"), [(c, e) for _, c, e in CHANGES], ids=[n for n, _, _ in CHANGES]
)
def test_a_change_made_elsewhere_is_read_by_the_next_request(
    read, fraud, db_session, change, expected
):
    assert read()[0] == EXPECTED
    assert read()[1] == []  # answered from the copy
    stamp = db_session.scalar(select(Project.context_stamp).where(Project.id == fraud.id))
    change(db_session, fraud)
    db_session.commit()
    assert db_session.scalar(select(Project.context_stamp).where(Project.id == fraud.id)) != stamp
    seen, queries = read()
    assert seen == expected
    assert len(queries) == 5  # read from the database, and kept again
    assert read() == (expected, [])


def test_a_story_change_keeps_the_stamp_and_a_stage_change_in_the_same_transaction_bumps_once(
    fraud, db_session, monkeypatch
):
    # A stage renamed after a story's row was written takes the project's row late (no route
    # does that; the tests refuse it elsewhere): the version and the stamp are still right.
    monkeypatch.setattr(versioning, "STRICT_LOCK_ORDER", False)

    def now() -> tuple[int, int]:
        row = db_session.execute(
            select(Project.change_version, Project.context_stamp).where(Project.id == fraud.id)
        ).one()
        return tuple(row)

    factories.story(db_session, fraud, title="Label 1,000 transactions")
    db_session.commit()
    version, stamp = now()
    story = db_session.scalar(select(Story))
    story.title = "Label 2,000 transactions"
    db_session.commit()
    assert now() == (version + 1, stamp)
    story.title = "Label 3,000 transactions"
    db_session.flush()
    _rename_stage(db_session, fraud)
    db_session.commit()
    new_version, new_stamp = now()
    assert new_version == version + 2  # once for each transaction
    assert new_stamp != stamp


def test_a_column_the_copy_leaves_out_is_read_from_the_database(read, fraud, db_session, app):
    read()
    # is_admin is not in the copy, and its change gives no new stamp
    db_session.execute(
        update(Account).where(Account.email == "helen@example.com").values(is_admin=True)
    )
    db_session.commit()
    with fraud_request(app) as (session, project):
        ctx = load_context(session, project)
        helen = next(m for m in ctx.members.values() if m.account.email == "helen@example.com")
        assert helen.account.is_admin is True
        assert read()[1] == []


def test_a_change_rolled_back_leaves_the_copy_as_the_database_is(read, fraud, app):
    read()
    with fraud_request(app) as (session, project):
        _rename_stage(session, project)
        ctx = load_context(session, project)
        assert ctx.stages["modeling"].name == "Model building"  # its own change, read back
        session.rollback()
    assert read() == (EXPECTED, [])


def test_a_savepoint_rolled_back_makes_the_transaction_read_the_database(read, fraud, app):
    read()
    with fraud_request(app) as (session, project):
        with session.begin_nested() as savepoint:
            _rename_stage(session, project)
            savepoint.rollback()
        statements: list[str] = []
        event.listen(session, "do_orm_execute", lambda state: statements.append("query"))
        ctx = load_context(session, project)
        assert ctx.stages["modeling"].name == "Modeling & training"
        assert statements  # not from the copy: the project's stamp here is not the database's
        session.rollback()
    assert read() == (EXPECTED, [])


def test_a_change_not_yet_written_is_not_in_the_copy(read, fraud, app):
    with fraud_request(app) as (session, project):
        with session.no_autoflush:
            stage = session.scalar(select(Stage).where(Stage.key == "modeling"))
            stage.name = "Model building"
            ctx = load_context(session, project)
            assert ctx.stages["modeling"].name == "Model building"  # the session's own object
        session.rollback()
    assert read() == (EXPECTED, [])  # the copy was read from the database


def test_a_change_not_yet_flushed_is_written_before_the_context_is_read(read, fraud, app):
    read()
    with fraud_request(app) as (session, project):
        session.add(Stage(project_id=project.id, key="safety", name="Safety review", position=8))
        ctx = load_context(session, project)
        assert ctx.stages["safety"].name == "Safety review"
        session.rollback()
    assert read() == (EXPECTED, [])


def test_a_name_read_before_the_stamp_never_goes_into_the_copy(read, fraud, app, db_session):
    # The sign-in reads the person's account before the access check reads the project: a
    # rename committed in between must not be kept under the new stamp.
    with app.test_request_context():
        session = db.session()
        # held, as the sign-in holds the person (the session's identity map keeps it then)
        priya = session.scalar(select(Account).where(Account.email == "priya@example.com"))
        _rename_account(db_session, fraud)
        db_session.commit()
        project = session.scalar(select(Project).where(Project.key == "FRAUD"))
        load_context(session, project)
        assert priya.name == "Priya Raman"  # this request's own object, read before
        session.commit()
    renamed = _with(
        {
            "members": [
                MEMBERS[0],
                ("priya@example.com", "Priya R.", True, "edit", ["data_scientist"]),
                MEMBERS[2],
            ]
        }
    )
    assert read() == (renamed, [])


def test_deleting_a_milestone_gives_a_new_stamp_its_epics_lose_it(read, fraud, db_session, app):
    milestone = create_milestone(
        db_session, load_context(db_session, fraud), {"name": "Pilot", "baseline": "2026-06-01"}
    )
    epic = db_session.scalar(select(Epic).where(Epic.key == "E1"))
    epic.milestone_id = milestone.id
    db_session.commit()
    with_milestone, _ = read()
    assert read()[1] == []
    stamp = db_session.scalar(select(Project.context_stamp).where(Project.id == fraud.id))
    delete_milestone(db_session, milestone)
    db_session.commit()
    assert db_session.scalar(select(Project.context_stamp).where(Project.id == fraud.id)) != stamp
    assert with_milestone == EXPECTED
    with fraud_request(app) as (session, project):
        assert load_context(session, project).epics["E1"].milestone_id is None


def test_one_flush_bumps_two_projects_in_one_statement_in_id_order(fraud, db_session, app):
    other = factories.project(db_session, "OTHER", "Other", owner=None)
    factories.story(db_session, other, title="Elsewhere")
    db_session.commit()
    assert other.id > fraud.id
    story = db_session.scalar(select(Story).where(Story.project_id == other.id))
    statements: list[str] = []
    engine = get_db(app).engine

    def listener(conn, cursor, statement, parameters, *_):
        if statement.startswith("UPDATE project"):
            statements.append(statement)

    stage = db_session.scalar(select(Stage).where(Stage.key == "modeling"))
    event.listen(engine, "before_cursor_execute", listener)
    try:
        story.title = "Elsewhere, renamed"  # OTHER: a plain change
        stage.name = "Model building"  # FRAUD: a context change, in the same flush
        db_session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(statements) == 1, statements  # the rows are locked in id order, FRAUD first
    # a changed row of one project and a new row of another: one statement as well
    statements.clear()
    event.listen(engine, "before_cursor_execute", listener)
    try:
        story.title = "Elsewhere, renamed again"
        db_session.add(Stage(project_id=fraud.id, key="safety", name="Safety review", position=8))
        db_session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(statements) == 1, statements


def test_a_rollback_reads_the_members_made_from_a_copy_again(read, fraud, app, db_session):
    with context_from_copy(app, read) as (session, project, ctx):
        priya = ctx.member_by_email("priya@example.com")
        session.commit()
        _change_roles(db_session, fraud)  # another worker, meanwhile
        db_session.commit()
        session.scalar(select(Project).where(Project.key == "FRAUD"))
        session.rollback()
        assert (priya.account.name, priya.roles) == ("Priya Raman", ["ml_engineer"])


def test_a_member_made_from_a_copy_reads_its_account_and_roles_again_once_expired(
    read, fraud, app, db_session
):
    read()
    with fraud_request(app) as (session, project):
        priya = load_context(session, project).member_by_email("priya@example.com")
        _change_roles(db_session, fraud)
        _rename_account(db_session, fraud)
        db_session.commit()
        assert (priya.account.name, priya.roles) == ("Priya Raman", ["data_scientist"])
        session.expire_all()
        assert (priya.account.name, priya.roles) == ("Priya R.", ["ml_engineer"])
        session.rollback()


def test_the_lock_reads_the_context_again_when_it_was_loaded_before(read, fraud, app, db_session):
    read()
    with fraud_request(app) as (session, project):
        assert len(load_context(session, project).members) == 3
        _add_member(db_session, fraud)  # committed while this request was running
        db_session.commit()
        lock_project(session, project)
        emails = {m.account.email for m in load_context(session, project).members.values()}
        assert "omar@example.com" in emails
        session.rollback()


def test_the_lock_reads_the_stamp_again(read, fraud, app, db_session):
    read()
    with fraud_request(app) as (session, project):
        _rename_stage(db_session, fraud)  # committed after this request read the stamp
        db_session.commit()
        lock_project(session, project)
        assert load_context(session, project).stages["modeling"].name == "Model building"
        session.rollback()


def test_the_copies_are_per_project_and_the_least_recently_used_go_first():
    copies = SharedContexts(size=2)
    copies.put(1, 11, "one")
    copies.put(2, 22, "two")
    assert copies.get(1, 11) == "one"  # 1 is now the most recently used
    assert copies.get(1, 12) is None  # another stamp
    copies.put(3, 33, "three")
    assert copies.get(2, 22) is None
    assert copies.get(1, 11) == "one"
    assert copies.get(3, 33) == "three"


# --- a context made from a copy builds each object when first asked for -------------------------


@contextmanager
def context_from_copy(app, read) -> Iterator[tuple[Session, Project, object]]:
    """A request's session, its project, and the project's context made from the worker's copy
    (read() makes the copy first)."""
    read()
    with fraud_request(app) as (session, project):
        yield session, project, load_context(session, project)


def _rename_in_bulk(session: Session, key: str, name: str) -> None:
    """Rename a stage by an UPDATE statement (no object loaded)."""
    session.execute(update(Stage).where(Stage.key == key).values(name=name))


def _held(session: Session, cls: type) -> list:
    """The objects of `cls` the session holds."""
    return [obj for obj in session.identity_map.values() if isinstance(obj, cls)]


def test_a_context_from_a_copy_builds_only_the_objects_asked_for(read, fraud, app, db_session):
    read()
    evaluation_id = db_session.scalar(select(Stage.id).where(Stage.key == "evaluation"))
    priya_id = db_session.scalar(select(Account.id).where(Account.email == "priya@example.com"))
    with fraud_request(app) as (session, project):
        ctx = load_context(session, project)
        assert _held(session, Stage) == [] and _held(session, Membership) == []
        assert list(ctx.stages) == [key for key, _ in STAGES]  # in order, none built
        assert len(ctx.members) == 3 and priya_id in ctx.members
        assert _held(session, Stage) == [] and _held(session, Membership) == []

        assert ctx.stage_by_id(evaluation_id).name == "Evaluation"
        priya = ctx.members[priya_id]
        assert (priya.account.email, priya.roles) == ("priya@example.com", ["data_scientist"])
        assert [s.key for s in _held(session, Stage)] == ["evaluation"]
        assert _held(session, Membership) == [priya]
        assert [a.email for a in _held(session, Account)] == ["priya@example.com"]
        assert ctx.stages["evaluation"] is ctx.stage_by_id(evaluation_id)
        session.rollback()


def test_before_the_transaction_changes_the_context_the_rest_is_built_and_takes_the_change(
    read, fraud, app
):
    with context_from_copy(app, read) as (session, project, ctx):
        _rename_in_bulk(session, "evaluation", "Offline eval")
        # built from the copy before the UPDATE, and synchronised by it as a queried one is
        with statements_of(app) as statements:
            seen = summary(ctx)
        assert statements == []  # not one query per object
        stages = list(EXPECTED["stages"])
        stages[5] = ("evaluation", "Offline eval", False)
        assert seen == _with({"stages": stages})
        session.rollback()


def test_a_savepoint_released_or_a_commit_does_not_hide_a_later_change(read, fraud, app):
    with context_from_copy(app, read) as (session, project, ctx):
        with session.begin_nested():
            pass
        _rename_in_bulk(session, "evaluation", "Offline eval")
        assert ctx.stages["evaluation"].name == "Offline eval"
        session.rollback()
    with fraud_request(app) as (session, project):
        ctx = load_context(session, project)
        session.commit()
        _rename_in_bulk(session, "modeling", "Model building")
        assert ctx.stages["modeling"].name == "Model building"
        assert session.scalar(select(Stage.name).where(Stage.key == "modeling")) == "Model building"
        session.rollback()


def test_a_member_removed_in_the_transaction_stays_in_the_context_it_was_loaded_with(
    read, fraud, app
):
    with context_from_copy(app, read) as (session, project, ctx):
        _remove_member(session, project)
        session.flush()
        # as with a queried context: the objects were there before the change
        assert [m.account.email for m in ctx.members.values()] == [m[0] for m in MEMBERS]
        assert [m.account.email for m in load_context(session, project).members.values()] == [
            "maya@example.com",
            "priya@example.com",
        ]
        session.rollback()


def test_after_a_rollback_the_rest_is_read_from_the_database(read, fraud, app, db_session):
    with context_from_copy(app, read) as (session, project, ctx):
        _rename_stage(db_session, fraud)  # another worker, meanwhile
        db_session.commit()
        session.rollback()
        with statements_of(app) as statements:
            assert ctx.stages["modeling"].name == "Model building"
        assert len(statements) == 1  # expired by the rollback, as a queried stage is


def test_after_a_commit_the_rest_is_built_from_the_copy_without_a_query(read, fraud, app):
    with context_from_copy(app, read) as (session, project, ctx):
        session.commit()
        with statements_of(app) as statements:
            assert summary(ctx) == EXPECTED
        assert statements == []


def test_expire_all_reads_the_rest_from_the_database_as_a_rollback_does(
    read, fraud, app, db_session
):
    with context_from_copy(app, read) as (session, project, ctx):
        _rename_stage(db_session, fraud)  # another worker, meanwhile
        db_session.commit()
        session.expire_all()
        assert ctx.stages["modeling"].name == "Model building"
        session.rollback()


def test_a_mapping_kept_without_its_context_is_built_before_a_change(read, fraud, app):
    import gc

    read()
    with fraud_request(app) as (session, project):
        stages = load_context(session, project).stages
        session.execute(update(Account).where(Account.id == -1).values(name="nobody"))  # a write
        gc.collect()  # the context itself is gone (the request forgot it at the write)
        _rename_in_bulk(session, "evaluation", "Offline eval")
        assert stages["evaluation"].name == "Offline eval"
        session.rollback()
