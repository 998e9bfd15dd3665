"""A project's change_version goes up by exactly one with each transaction that writes anything its
pages show, for that project only (planner/models/versioning.py), and never for a read.

Versions are read through a connection of their own after each step, so what is counted is what
was committed. FRAUD (the `team` fixture, seeded by `story_one`) and OTHER, a second project
Maya manages too, are watched side by side: each step names the change it expects of each."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import (
    Integer,
    String,
    bindparam,
    create_engine,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from planner.db import get_db
from planner.delivery.worker import Worker
from planner.domain.context import load_context, lock_project
from planner.domain.labels import set_labels
from planner.interchange.export import export_project
from planner.interchange.importer import import_document
from planner.models import (
    Base,
    Comment,
    Holiday,
    Project,
    ProjectChange,
    Sprint,
    Story,
    StoryEvent,
    story_label,
    versioning,
)
from planner.models.versioning import (
    NOT_SHOWN,
    RULES,
    LockOrderError,
    UnversionedWrite,
    fold_changes,
)
from tests import factories
from tests.test_tokens import bearer, make_token

FRAUD_ONLY = {"FRAUD": 1, "OTHER": 0}
NOTHING = {"FRAUD": 0, "OTHER": 0}


@pytest.fixture
def other(db_session, team, story_one):
    """OTHER: a second project with one story, managed by Maya, who manages FRAUD too."""
    project = factories.project(db_session, "OTHER", "Other work", owner=team.manager)
    factories.story(db_session, project, team.manager, title="Elsewhere")
    db_session.commit()
    return project


def versions(app) -> dict[str, int]:
    with get_db(app).engine.connect() as conn:
        return dict(conn.execute(select(Project.key, Project.change_version)).all())


class Watch:
    """Record the versions now; `changes()` gives how far each project moved since."""

    def __init__(self, app) -> None:
        self.app = app
        self.before = versions(app)

    def changes(self) -> dict[str, int]:
        after = versions(self.app)
        return {key: after[key] - self.before.get(key, 0) for key in after}


@pytest.fixture
def watch(app, other):
    return lambda: Watch(app)


# --- every table is classified -----------------------------------------------------------------


def test_every_table_has_a_rule_or_is_listed_as_not_shown():
    mapped = {mapper.local_table.name for mapper in Base.registry.mappers}
    tables = set(Base.metadata.tables)
    assert mapped <= tables
    unclassified = sorted(tables - set(RULES) - set(NOT_SHOWN))
    assert unclassified == [], f"classify these in planner/models/versioning.py: {unclassified}"
    assert set(RULES) & set(NOT_SHOWN) == set()
    assert set(RULES) | set(NOT_SHOWN) == tables  # no rule for a table that is gone
    for name, rule in RULES.items():
        for column, target in rule.refs:
            assert column in Base.metadata.tables[name].c, (name, column)
            assert target in {"project", "account", "story_links"} | set(RULES), (name, target)


# --- each kind of write bumps its project, once per transaction ---------------------------------


def test_story_create_and_update_through_the_api(watch, clients):
    seen = watch()
    made = clients["edit"].api("POST", "/api/v1/projects/FRAUD/stories", {"title": "Recall"})
    assert made.status_code == 201, made.json
    assert seen.changes() == FRAUD_ONLY
    seen = watch()
    patched = clients["edit"].api(
        "PATCH", "/api/v1/stories/FRAUD-1", {"version": 1, "status": "in_progress"}
    )
    assert patched.status_code == 200, patched.json
    assert seen.changes() == FRAUD_ONLY


def test_a_story_event_alone(watch, db_session, story_one, team):
    seen = watch()
    db_session.add(
        StoryEvent(
            story_id=story_one.id,
            field="points",
            from_value="3",
            to_value="5",
            at=datetime(2026, 3, 3, tzinfo=UTC),
            by_id=team.editor.id,
        )
    )
    db_session.commit()
    assert seen.changes() == FRAUD_ONLY


def test_sprint_epic_stage_member_risk_comment(watch, clients, db_session, team, other):
    # Sam works on OTHER, which Maya manages: she may add Sam to FRAUD.
    factories.member(db_session, other, factories.account(db_session, "sam@x.org", "Sam"), "view")
    db_session.commit()
    manage = clients["manage"]
    steps = [
        (
            manage,
            "POST",
            "/api/v1/projects/FRAUD/sprints",
            {"name": "Sprint 3", "start": "2026-03-30", "end": "2026-04-10"},
        ),
        (clients["edit"], "POST", "/api/v1/projects/FRAUD/epics", {"title": "Rules baseline"}),
        (manage, "PATCH", "/api/v1/projects/FRAUD/stages/modeling", {"name": "Modelling"}),
        (
            manage,
            "POST",
            "/api/v1/projects/FRAUD/members",
            {"email": "sam@x.org", "access": "view", "roles": []},
        ),
        (
            manage,
            "POST",
            "/api/v1/projects/FRAUD/risks",
            {"title": "Label leak", "category": "data_quality", "likelihood": 2, "impact": 3},
        ),
        (clients["view"], "POST", "/api/v1/stories/FRAUD-1/comments", {"body": "Why?"}),
        (manage, "PUT", "/api/v1/stories/FRAUD-1/watch", None),
    ]
    for client, method, url, body in steps:
        seen = watch()
        answer = client.api(method, url, body)
        assert answer.status_code in (200, 201, 204), (url, answer.status_code, answer.json)
        assert seen.changes() == FRAUD_ONLY, url


def test_a_gate_decision(watch, clients):
    gate = clients["manage"].api(
        "POST",
        "/api/v1/projects/FRAUD/gates",
        {
            "stage": "deployment",
            "name": "Ready to ship",
            "criteria": ["Recall measured"],
            "approvers": ["helen@example.com"],
        },
    )
    assert gate.status_code == 201, gate.json
    seen = watch()
    decided = clients["view"].api(
        "POST", f"/api/v1/gates/{gate.json['id']}/decisions", {"decision": "go", "reason": "ok"}
    )
    assert decided.status_code == 201, decided.json
    assert seen.changes() == FRAUD_ONLY


def test_labels_through_the_story_label_table(watch, db_session, story_one):
    seen = watch()
    set_labels(db_session, story_one, ["drift", "pii"])  # a Label insert and a Core insert
    db_session.commit()
    assert seen.changes() == FRAUD_ONLY
    seen = watch()
    set_labels(db_session, story_one, [])  # a Core delete alone
    db_session.commit()
    assert seen.changes() == FRAUD_ONLY


def test_an_account_rename_bumps_every_project_of_the_account(watch, db_session, team):
    seen = watch()
    team.manager.name = "Maya O."  # a member of FRAUD and OTHER
    db_session.commit()
    assert seen.changes() == {"FRAUD": 1, "OTHER": 1}
    seen = watch()
    team.editor.email = "priya.raman@example.com"  # FRAUD only
    team.outsider.name = "Otto"  # no project at all
    db_session.commit()
    assert seen.changes() == FRAUD_ONLY
    seen = watch()
    team.manager.session_token = "rotated-token-0123456789"  # not shown anywhere
    team.manager.password_hash = "pbkdf2:sha256:1000$x$y"
    db_session.commit()
    assert seen.changes() == NOTHING


def test_a_dependency_across_projects_bumps_both_ends(watch, clients, db_session, other):
    seen = watch()
    added = clients["manage"].api(
        "POST", "/api/v1/stories/FRAUD-1/dependencies", {"blocked_by": "OTHER-1"}
    )
    assert added.status_code == 201, added.json
    assert seen.changes() == {"FRAUD": 1, "OTHER": 1}
    # The blocker finishing shows on FRAUD-1's card: both move again.
    seen = watch()
    done = clients["manage"].api("PATCH", "/api/v1/stories/OTHER-1", {"version": 1, "title": "x"})
    assert done.status_code == 200, done.json
    assert seen.changes() == {"FRAUD": 1, "OTHER": 1}
    # Both ends edited in one transaction, one flush after the other: still once each.
    seen = watch()
    blocker = db_session.scalar(select(Story).where(Story.project_id == other.id))
    blocked = db_session.scalar(
        select(Story).where(Story.project_id != other.id, Story.number == 1)
    )
    blocker.title = "Blocker renamed"
    db_session.flush()
    blocked.title = "Blocked renamed"
    db_session.commit()
    assert seen.changes() == {"FRAUD": 1, "OTHER": 1}


def test_an_import_bumps_the_new_project_only(watch, db_session, team):
    document = export_project(db_session, team.project)
    document["project"]["key"] = "COPY"
    document["project"]["name"] = "A copy"
    for story in document["stories"]:
        story["key"] = story["key"].replace("FRAUD-", "COPY-")
    seen = watch()
    import_document(db_session, document, hash_method=factories.HASH)
    db_session.commit()
    # COPY was born at 0 and went up once with the transaction that wrote it.
    assert seen.changes() == {"FRAUD": 0, "OTHER": 0, "COPY": 1}


def test_bulk_statements_through_the_session(watch, db_session, other):
    seen = watch()
    db_session.execute(update(Story).where(Story.project_id == other.id).values(blocked=True))
    db_session.commit()
    assert seen.changes() == {"FRAUD": 0, "OTHER": 1}
    # What it sets given as one dict of parameters, with no values().
    seen = watch()
    db_session.execute(update(Story).where(Story.project_id == other.id), {"title": "By dict"})
    db_session.commit()
    assert seen.changes() == {"FRAUD": 0, "OTHER": 1}
    seen = watch()
    db_session.execute(delete(story_label).where(story_label.c.story_id == -1))  # no row
    db_session.commit()
    assert seen.changes() == NOTHING
    fraud_1 = db_session.scalar(select(Story.id).where(Story.project_id != other.id))
    other_1 = db_session.scalar(select(Story.id).where(Story.project_id == other.id))
    # An ORM bulk UPDATE by primary key; a bulk INSERT of many rows; a WHERE with bindparam().
    seen = watch()
    sprint_id = db_session.scalar(select(Sprint.id).where(Sprint.project_id != other.id))
    db_session.execute(update(Sprint), [{"id": sprint_id, "goal": "Gold set"}])
    db_session.commit()
    assert seen.changes() == FRAUD_ONLY
    seen = watch()
    at = datetime(2026, 3, 3, tzinfo=UTC)
    db_session.execute(
        insert(StoryEvent),
        [{"story_id": other_1, "field": "points", "to_value": str(n), "at": at} for n in (1, 2)],
    )
    db_session.commit()
    assert seen.changes() == {"FRAUD": 0, "OTHER": 1}
    seen = watch()
    table = Story.__table__
    db_session.execute(
        update(table).where(table.c.id == bindparam("story")).values(blocked=False),
        [{"story": fraud_1}, {"story": other_1}],
    )
    db_session.commit()
    assert seen.changes() == {"FRAUD": 1, "OTHER": 1}


def test_a_bulk_update_moving_rows_to_another_parent_bumps_both_projects(
    watch, db_session, team, other
):
    fraud_1 = db_session.scalar(select(Story.id).where(Story.project_id == team.project.id))
    other_1 = db_session.scalar(select(Story.id).where(Story.project_id == other.id))
    at = datetime(2026, 3, 3, tzinfo=UTC)
    comments = [Comment(story_id=fraud_1, body=f"Note {n}", created_at=at) for n in range(3)]
    db_session.add_all(comments)
    db_session.commit()
    first, second, third = (c.id for c in comments)
    # A literal new parent: FRAUD loses the comment (its old story), OTHER gains it.
    seen = watch()
    db_session.execute(update(Comment).where(Comment.id == first).values(story_id=other_1))
    db_session.commit()
    assert seen.changes() == {"FRAUD": 1, "OTHER": 1}
    # And back, the new parent given as a bindparam() filled by the parameters sent with it.
    seen = watch()
    table = Comment.__table__
    db_session.execute(
        update(table).where(table.c.id == bindparam("comment")).values(story_id=bindparam("to")),
        [{"comment": first, "to": fraud_1}],
    )
    db_session.commit()
    assert seen.changes() == {"FRAUD": 1, "OTHER": 1}
    # An ORM bulk UPDATE by primary key moving one row.
    seen = watch()
    db_session.execute(update(Comment), [{"id": second, "story_id": other_1}])
    db_session.commit()
    assert seen.changes() == {"FRAUD": 1, "OTHER": 1}
    # The new parent in one dict of parameters, with no values(): Core and ORM statements.
    seen = watch()
    db_session.execute(update(table).where(table.c.id == first), {"story_id": other_1})
    db_session.commit()
    assert seen.changes() == {"FRAUD": 1, "OTHER": 1}
    seen = watch()
    db_session.execute(update(Comment).where(Comment.id == first), {"story_id": fraud_1})
    db_session.commit()
    assert seen.changes() == {"FRAUD": 1, "OTHER": 1}
    # ordered_values(); an id sent as text (the database casts it).
    seen = watch()
    db_session.execute(
        update(Comment).where(Comment.id == first).ordered_values((Comment.story_id, other_1))
    )
    db_session.commit()
    assert seen.changes() == {"FRAUD": 1, "OTHER": 1}
    seen = watch()
    db_session.execute(update(Comment), [{"id": first, "story_id": str(fraud_1)}])
    db_session.commit()
    assert seen.changes() == {"FRAUD": 1, "OTHER": 1}
    # A parameter named like the column does not hide the bindparam() that sets it.
    seen = watch()
    db_session.execute(
        update(table).where(table.c.id == first).values(story_id=bindparam("to")),
        {"to": other_1, "story_id": fraud_1},
    )
    db_session.commit()
    assert seen.changes() == {"FRAUD": 1, "OTHER": 1}
    db_session.execute(update(Comment).where(Comment.id == first).values(story_id=fraud_1))
    db_session.commit()
    # A new parent computed in SQL cannot be told: refused, nothing written.
    with pytest.raises(UnversionedWrite, match="sets story_id from SQL"):
        db_session.execute(
            update(Comment).where(Comment.id == third).values(story_id=Comment.story_id + 0)
        )
    db_session.rollback()
    where = db_session.execute(select(Comment.id, Comment.story_id).order_by(Comment.id)).all()
    assert [tuple(row) for row in where[-3:]] == [
        (first, fraud_1),
        (second, other_1),
        (third, fraud_1),
    ]


def test_a_write_whose_project_cannot_be_told_is_refused(db_session, story_one):
    copy = insert(Comment).from_select(
        ["story_id", "body", "created_at"],
        select(Comment.story_id, Comment.body, Comment.created_at),
    )
    with pytest.raises(UnversionedWrite, match="touch"):
        db_session.execute(copy)
    db_session.rollback()


def test_one_transaction_with_many_writes_bumps_once(watch, db_session, team, story_one):
    seen = watch()
    ctx = load_context(db_session, team.project)
    for i in range(3):
        factories.story(db_session, team.project, team.manager, title=f"Batch {i}")
    ctx.stages["modeling"].name = "Modelling"
    db_session.commit()
    assert seen.changes() == FRAUD_ONLY


# --- what does not bump ------------------------------------------------------------------------


def test_reads_locks_no_ops_and_rollbacks_do_not_bump(
    watch, app, clients, db_session, team, story_one
):
    sprint_id = db_session.scalar(
        select(Story.sprint_id).where(Story.project_id == team.project.id)
    )
    seen = watch()
    for url in (
        "/projects/FRAUD/board",
        f"/projects/FRAUD/board/changes?sprint={sprint_id}",
        f"/api/v1/sprints/{sprint_id}/board",
        "/projects/FRAUD/stories/1",
        "/projects/FRAUD/backlog",
        "/projects/FRAUD",
        "/projects/FRAUD/dashboard",
        "/projects/FRAUD/reports",
        f"/projects/FRAUD/sprints/{sprint_id}",
        "/projects/FRAUD/gates",
        "/projects/FRAUD/audit",
        "/api/v1/projects/FRAUD/stories",
    ):
        assert clients["view"].get(url).status_code == 200, url
    assert seen.changes() == NOTHING
    # A token's use is written (last_used_at), and shown on no project page.
    secret = make_token(clients["edit"])
    seen = watch()
    assert app.test_client().get("/api/v1/projects/FRAUD/stories", headers=bearer(secret)).json
    assert seen.changes() == NOTHING
    # Setting a value to what it is, a counter, and the lock idiom change nothing shown.
    story = db_session.scalar(select(Story).where(Story.project_id == team.project.id))
    story.title = story.title
    lock_project(db_session, team.project)
    db_session.commit()
    assert seen.changes() == NOTHING
    # A rolled-back write leaves no trace.
    story.title = "Never saved"
    db_session.flush()
    db_session.rollback()
    db_session.commit()
    assert seen.changes() == NOTHING


def test_delivering_notifications_does_not_bump(watch, app, clients):
    answer = clients["view"].api("POST", "/api/v1/stories/FRAUD-1/comments", {"body": "Hello"})
    assert answer.status_code == 201
    seen = watch()
    Worker(app).run_once()
    assert seen.changes() == NOTHING


def test_the_session_sees_its_own_new_version(db_session, team, story_one):
    before = db_session.scalar(select(Project.change_version).where(Project.id == team.project.id))
    story_one.title = "Renamed here"
    db_session.commit()
    assert team.project.change_version == before + 1  # the session's object is kept in step


def _postgresql_only(app) -> None:
    if get_db(app).dialect != "postgresql":
        pytest.skip("row locks: the PostgreSQL run (SQLite has one lock for the whole database)")


def test_two_editors_of_one_project_do_not_wait_on_each_other(app, db_session, team, story_one):
    """A story edit adds a project_change row and takes no lock on its project's row: a second
    edit of another story of the project, and lock_project itself, go ahead at once while the
    first edit is still open; each commit then counts once."""
    _postgresql_only(app)
    from sqlalchemy.exc import OperationalError

    second = factories.story(db_session, team.project, team.manager, title="Second")
    db_session.commit()
    before = versions(app)["FRAUD"]
    first_editor, second_editor, locker = (get_db(app).sessionmaker() for _ in range(3))
    try:
        first_editor.get(Story, story_one.id).title = "Edited first"
        first_editor.flush()
        second_editor.execute(text("SET LOCAL lock_timeout = '200ms'"))
        second_editor.get(Story, second.id).title = "Edited second"
        second_editor.flush()  # would time out waiting for the project's row
        locker.execute(text("SET LOCAL lock_timeout = '200ms'"))
        lock_project(locker, locker.get(Project, team.project.id))
        locker.rollback()
        # The story's own row is still one writer's at a time.
        locker.execute(text("SET LOCAL lock_timeout = '200ms'"))
        with pytest.raises(OperationalError, match="lock"):
            locker.get(Story, story_one.id).title = "Edited third"
            locker.flush()
        locker.rollback()
        first_editor.commit()
        second_editor.commit()
    finally:
        for session in (first_editor, second_editor, locker):
            session.rollback()
            session.close()
    assert versions(app)["FRAUD"] == before + 2


def test_a_project_row_taken_after_its_rows_were_written_is_refused_in_the_tests(
    db_session, team, story_one
):
    """Writers take a project's row (lock_project, the key counters, a context change) before
    they write rows of it; taken after, two writers could wait on each other in a circle. The
    tests refuse it (STRICT_LOCK_ORDER); a project created in the transaction, or one whose row
    the transaction holds already, is not at risk."""
    story_one.title = "Written first"
    db_session.flush()
    with pytest.raises(LockOrderError, match="take it first"):
        lock_project(db_session, team.project)
    db_session.rollback()

    lock_project(db_session, team.project)  # first: then anything, in any order
    db_session.get(Story, story_one.id).title = "Written second"
    db_session.flush()
    factories.story(db_session, team.project, team.manager, title="Numbered after")
    lock_project(db_session, team.project)
    db_session.commit()

    project = factories.project(db_session, "NEWP", "New", owner=team.manager)
    factories.story(db_session, project, team.manager, title="One")
    factories.story(db_session, project, team.manager, title="Two")
    db_session.commit()


def _changes(app) -> dict[str, tuple[int, int]]:
    """{project key: (its folded version, its project_change rows)} as committed."""
    with get_db(app).engine.connect() as conn:
        folded = dict(conn.execute(text("SELECT key, change_version FROM project")).all())
        rows = dict(
            conn.execute(
                select(Project.key, func.count(ProjectChange.id))
                .join(ProjectChange, ProjectChange.project_id == Project.id)
                .group_by(Project.key)
            ).all()
        )
    return {key: (value, rows.get(key, 0)) for key, value in folded.items()}


def test_folding_moves_the_changes_into_the_project_and_keeps_the_version(
    app, db_session, team, story_one, other
):
    for title in ("One", "Two", "Three"):
        db_session.get(Story, story_one.id).title = title
        db_session.commit()
    before = _changes(app)
    versions_before = versions(app)
    fraud_rows = before["FRAUD"][1]
    assert fraud_rows >= 3
    ids = db_session.scalars(
        select(ProjectChange.id)
        .where(ProjectChange.project_id == team.project.id)
        .order_by(ProjectChange.id)
    ).all()
    with get_db(app).engine.connect() as conn:
        fold_changes(conn, {team.project.id: ids[-2]})  # all but the newest
    after = _changes(app)
    assert after["FRAUD"] == (before["FRAUD"][0] + fraud_rows - 1, 1)
    assert after["OTHER"] == before["OTHER"]
    assert versions(app) == versions_before
    with get_db(app).engine.connect() as conn:
        fold_changes(conn, {team.project.id: ids[-1], 999_999: 5})  # and a project that is gone
    assert _changes(app)["FRAUD"] == (before["FRAUD"][0] + fraud_rows, 0)
    assert versions(app) == versions_before


def test_a_request_folds_after_its_work_when_its_change_asks(app, clients, story_one, monkeypatch):
    monkeypatch.setattr(versioning, "FOLD_EVERY", 1)  # every change asks
    before = versions(app)
    answer = clients["edit"].api(
        "PATCH", "/api/v1/stories/FRAUD-1", {"version": 1, "title": "Folded"}
    )
    assert answer.status_code == 200, answer.json
    assert versions(app) == {**before, "FRAUD": before["FRAUD"] + 1}
    assert _changes(app)["FRAUD"] == (before["FRAUD"] + 1, 0)


def test_another_librarys_tables_in_the_same_process_are_left_alone(tmp_path):
    """MLflow writes its store through its own SQLAlchemy models in planner's process (the demo
    does): its tables, even one named like planner's, are none of the hook's business."""

    class Other(DeclarativeBase):
        pass

    class Experiment(Other):
        __tablename__ = "experiments"
        experiment_id: Mapped[int] = mapped_column(Integer, primary_key=True)
        name: Mapped[str] = mapped_column(String(50))

    class Story(Other):  # the same name as planner's table, another library's model
        __tablename__ = "story"
        id: Mapped[int] = mapped_column(Integer, primary_key=True)
        project_id: Mapped[int] = mapped_column(Integer)

    engine = create_engine(f"sqlite:///{tmp_path / 'other.db'}")
    Other.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([Experiment(name="recall"), Story(project_id=1)])
        session.commit()
        session.execute(insert(Experiment.__table__).values(name="precision"))
        session.execute(update(Story.__table__).values(project_id=2))
        session.commit()
        assert session.scalars(select(Experiment.name).order_by(Experiment.name)).all() == [
            "precision",
            "recall",
        ]
        assert session.scalar(select(Story.project_id)) == 2


def test_a_forecast_moves_the_version_once_and_keeps_the_context_stamp(app, clients, story_one):
    """The forecast route appends the new forecast to its milestone's loaded list: the forecast's
    row is the change (a one-to-many list is the child's rows, not the milestone's), so the
    version moves by one and the context stamp (which the milestone is part of) stays."""
    api = app.test_client()
    maya = bearer(make_token(clients["manage"]))
    made = api.post(
        "/api/v1/projects/FRAUD/milestones",
        json={"name": "Model meets target", "baseline": "2027-05-28"},
        headers=maya,
    )
    assert made.status_code == 201, made.json

    def state() -> tuple[int, int]:
        with get_db(app).engine.connect() as conn:
            return tuple(
                conn.execute(
                    select(Project.change_version, Project.context_stamp).where(
                        Project.key == "FRAUD"
                    )
                ).one()
            )

    version, stamp = state()
    moved = api.post(
        f"/api/v1/milestones/{made.json['id']}/forecasts",
        json={"forecast": "2027-06-11", "note": "DPIA review"},
        headers=maya,
    )
    assert moved.status_code == 201, moved.json
    assert state() == (version + 1, stamp)


def test_a_savepoint_rolled_back_restores_what_the_lock_order_check_knew(
    db_session, team, story_one
):
    """A savepoint rolled back undoes its writes and releases the locks taken in it: the check
    knows again what it knew when the savepoint began, no more and no less."""
    lock_project(db_session, team.project)
    savepoint = db_session.begin_nested()
    db_session.get(Story, story_one.id).title = "Undone"
    db_session.flush()
    savepoint.rollback()
    db_session.get(Story, story_one.id).title = "Kept"
    db_session.flush()
    factories.story(db_session, team.project, team.manager, title="Numbered")  # row held: fine
    db_session.commit()

    db_session.get(Story, story_one.id).title = "Written without the row"
    db_session.flush()
    savepoint = db_session.begin_nested()
    db_session.get(Story, story_one.id).title = "Undone again"
    db_session.flush()
    savepoint.rollback()
    with pytest.raises(LockOrderError):
        lock_project(db_session, team.project)  # still late after the savepoint's rollback
    db_session.rollback()


def test_a_fold_never_waits_for_the_projects_row(app, db_session, team, story_one):
    """A fold whose project's row another transaction holds leaves the rows for a later fold
    (they count where they are): on PostgreSQL it skips the row (SKIP LOCKED), on SQLite the
    write lock is tried once (busy_timeout 0, put back after)."""
    db_session.get(Story, story_one.id).title = "Counted"
    db_session.commit()
    before = _changes(app)["FRAUD"]
    versions_before = versions(app)
    upto = db_session.scalar(select(func.max(ProjectChange.id)))
    holder = get_db(app).sessionmaker()
    try:
        lock_project(holder, holder.get(Project, team.project.id))
        with get_db(app).engine.connect() as conn:
            fold_changes(conn, {team.project.id: upto})
            if get_db(app).dialect == "sqlite":
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000
    finally:
        holder.rollback()
        holder.close()
    assert _changes(app)["FRAUD"] == before
    assert versions(app) == versions_before
    with get_db(app).engine.connect() as conn:
        fold_changes(conn, {team.project.id: upto})
    assert _changes(app)["FRAUD"] == (before[0] + before[1], 0)
    assert versions(app) == versions_before


def test_a_flush_failing_inside_a_savepoint_restores_what_the_lock_order_check_knew(
    db_session, team, story_one
):
    """A flush that fails inside `with begin_nested()` rolls back the savepoint in the database
    (its writes undone, its locks released) through the flush's own subtransaction: the check
    forgets the write it made there."""
    db_session.commit()
    with pytest.raises(IntegrityError):
        with db_session.begin_nested():
            db_session.get(Story, story_one.id).title = "Undone by the failure"
            db_session.flush()
            db_session.add(Holiday(project_id=team.project.id, day=date(2026, 1, 1)))
            db_session.add(Holiday(project_id=team.project.id, day=date(2026, 1, 1)))
            db_session.flush()  # the same day twice
    lock_project(db_session, team.project)  # in order: the story's write was undone
    db_session.commit()
