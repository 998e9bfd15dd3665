"""Stored sprint series (docs/rules.md, "Stored series"): a closed sprint's series is computed once,
stored with what it was computed from, and read back; the stored series equals a fresh sweep and
the independent oracle of tests/test_metrics_oracle.py, for every demo sprint and for seeded random
histories; a new event on a story of the sprint, a title edit, a holiday, or a new rules version
rebuilds it; planned and active sprints are never stored; the second read of a closed sprint's
burndown costs the same queries for 5 stories as for 200."""

from __future__ import annotations

import dataclasses
import json
import random
import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, update

from planner.db import get_db
from planner.demo import dated_demo, install_demo
from planner.domain import series as stored_series
from planner.domain.context import lock_project
from planner.domain.history import load_series
from planner.domain.series import series_for, series_for_many
from planner.interchange.importer import import_document
from planner.models import (
    Holiday,
    Project,
    Sprint,
    Stage,
    StoredSeries,
    Story,
    StoryEvent,
    StoryTextChange,
)
from planner.timeutil import local_today
from tests import factories
from tests.demo_oracle import demo_oracle
from tests.test_metrics_oracle import (
    NOW,
    assert_same,
    assert_velocity,
    histories,
    naive,
    random_case,
)


def stored_rows(session) -> dict[int, StoredSeries]:
    session.expire_all()
    return {row.sprint_id: row for row in session.scalars(select(StoredSeries))}


def project_sprints(session, project_id) -> list[Sprint]:
    return list(
        session.scalars(select(Sprint).where(Sprint.project_id == project_id).order_by(Sprint.id))
    )


# --- the demo ----------------------------------------------------------------------------------


def test_every_demo_sprint_stored_equals_a_fresh_sweep(db_session):
    result = install_demo(db_session, hash_method=factories.HASH)
    db_session.commit()
    project = db_session.scalar(select(Project).where(Project.key == result.project_key))
    sprints = project_sprints(db_session, project.id)
    closed = [s for s in sprints if s.state == "closed"]
    assert len(closed) == 3  # the demo's three closed sprints
    kept = [s for s in sprints if s.state in ("closed", "active")]
    assert len(kept) == 4  # and its active one
    now = datetime.now(UTC)

    first = series_for_many(db_session, project, sprints, now=now)
    db_session.commit()
    rows = stored_rows(db_session)
    assert sorted(rows) == sorted(s.id for s in kept)  # never the planned ones
    second = series_for_many(db_session, project, sprints, now=now)
    fresh = load_series(db_session, project, sprints, now=now)
    for sprint in sprints:
        assert first[sprint.id] == fresh[sprint.id], sprint.name
        assert second[sprint.id] == fresh[sprint.id], sprint.name
    # Nothing was rebuilt by the second read.
    assert {i: r.computed_at for i, r in stored_rows(db_session).items()} == {
        i: r.computed_at for i, r in rows.items()
    }


def test_every_demo_sprint_read_back_follows_the_oracle(db_session):
    """The stored series of the demo, read back, against the rules written out naively."""
    document = dated_demo(NOW)
    imported = import_document(db_session, document, hash_method=factories.HASH)
    db_session.commit()
    project = db_session.get(Project, imported.id)
    rows = project_sprints(db_session, project.id)
    series_for_many(db_session, project, rows, now=NOW)  # computes and stores
    db_session.commit()
    assert len(stored_rows(db_session)) == 4  # three closed sprints and the active one
    from_store = series_for_many(db_session, project, rows, now=NOW)
    oracle = demo_oracle(db_session, document, rows, NOW)
    for row in rows:
        assert_same(from_store[row.id], oracle.expected_for(row), oracle.story_row, oracle.person)
    assert_velocity(from_store.values(), oracle.expected, oracle.sprints)


# --- random histories --------------------------------------------------------------------------

STAGE_KEYS = ("data_labeling", "modeling")


def put_case(session, seed: int):
    """Write one random case of the oracle test into the database, as planner would have recorded
    it; return the project, its sprints, the oracle's expectations and the id maps."""
    calendar, sprints, stories, changes, now = random_case(random.Random(seed))
    # A project runs one active sprint at a time: later "active" ones become closed 3 days on.
    seen_active = False
    for i, s in enumerate(sprints):
        if s.state == "active":
            if seen_active:
                sprints[i] = dataclasses.replace(
                    s, state="closed", closed_at=s.started_at + timedelta(days=3)
                )
            seen_active = True
    owner = factories.account(session, f"owner{seed}@example.com", "Owner")
    people = {
        11: factories.account(session, f"a{seed}@example.com", "A"),
        12: factories.account(session, f"b{seed}@example.com", "B"),
    }
    project = factories.project(session, f"R{seed}", f"Random {seed}", owner=owner)
    project.timezone = calendar.timezone
    project.working_days = "".join(str(d) for d in sorted(calendar.working_days))
    for day in calendar.holidays:
        session.add(Holiday(project_id=project.id, day=day))
    stage_ids = {
        key: sid
        for key, sid in session.execute(
            select(Stage.key, Stage.id).where(Stage.project_id == project.id)
        )
    }
    sprint_rows = {
        s.id: factories.sprint(
            session,
            project,
            s.name,
            s.start,
            s.end,
            state=s.state,
            started_at=s.started_at,
            closed_at=s.closed_at,
        )
        for s in sprints
    }
    db_id = {"sprint": {k: v.id for k, v in sprint_rows.items()}}
    db_id["assignee"] = {k: v.id for k, v in people.items()}

    def encoded(field, value):
        if value is None:
            return None
        return str(db_id.get(field, {}).get(value, value))

    story_rows = {}
    for number, s in enumerate(stories, start=1):
        row = Story(
            project_id=project.id,
            number=number,
            title=f"Story {s.id}",
            status=s.status,
            points=s.points,
            sprint_id=None if s.sprint is None else db_id["sprint"][s.sprint],
            stage_id=None if s.stage is None else stage_ids[s.stage],
            role=s.role,
            assignee_id=None if s.assignee is None else db_id["assignee"][s.assignee],
            rank=number,
            created_at=s.created_at,
        )
        session.add(row)
        story_rows[s.id] = row
    session.flush()
    # Recorded in time order, as planner writes them (ties keep the generator's order).
    for c in sorted(changes, key=lambda c: c.at):
        session.add(
            StoryEvent(
                story_id=story_rows[c.story_id].id,
                field=c.field,
                from_value=encoded(c.field, c.old),
                to_value=encoded(c.field, c.new),
                at=c.at,
            )
        )
        session.flush()
    session.commit()
    by_story = histories(changes)
    expected = {s.id: naive(calendar, s, stories, by_story, now) for s in sprints}
    oracle_sprint = {v: k for k, v in db_id["sprint"].items()}
    oracle_person = {v: k for k, v in db_id["assignee"].items()}
    oracle_story = {row.id: (s_id, f"T-{s_id}") for s_id, row in story_rows.items()}

    def person(account_id):
        return None if account_id is None else oracle_person[account_id]

    def story_row(r):
        s_id, key = oracle_story[r[0]]
        sprint = None if r[5] is None else oracle_sprint[r[5]]
        return (s_id, key, "", *r[3:5], sprint, r[6], r[7], person(r[8]))

    return project, sprints, [sprint_rows[s.id] for s in sprints], expected, now, story_row, person


@pytest.mark.parametrize("seed", range(40))
def test_random_histories_stored_equals_a_fresh_sweep_and_the_oracle(db_session, seed):
    project, infos, rows, expected, now, story_row, person = put_case(db_session, seed)
    first = series_for_many(db_session, project, rows, now=now)
    db_session.commit()
    kept = {r.id for r in rows if r.state in ("closed", "active")}
    assert set(stored_rows(db_session)) == kept
    second = series_for_many(db_session, project, rows, now=now)
    fresh = load_series(db_session, project, rows, now=now)
    for row, info in zip(rows, infos, strict=True):
        assert first[row.id] == fresh[row.id]
        assert second[row.id] == fresh[row.id]
        # Story number n is the generator's story n, whose key the oracle calls T-n.
        mapped = dataclasses.replace(
            second[row.id],
            scope_changes=[
                dataclasses.replace(c, story=f"T-{int(c.story.rsplit('-', 1)[1])}")
                for c in second[row.id].scope_changes
            ],
        )
        assert_same(mapped, expected[info.id], story_row, person)


# --- the stored row is what is read, and what rebuilds it ---------------------------------------


@pytest.fixture
def closed_sprint(db_session, team):
    """FRAUD Sprint 1 (2-13 March 2026), closed on 13 March at 16:00 UTC, with three stories:
    A 3 points done on 4 March, B 5 points still in progress, C 2 points added on 5 March."""
    sprint = factories.sprint(
        db_session,
        team.project,
        "Sprint 1",
        date(2026, 3, 2),
        date(2026, 3, 13),
        state="active",
        started_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
    )
    at = datetime(2026, 3, 2, 8, tzinfo=UTC)
    a = factories.story(db_session, team.project, team.editor, now=at, title="A", points=3)
    b = factories.story(db_session, team.project, team.editor, now=at, title="B", points=5)
    c = factories.story(db_session, team.project, team.editor, now=at, title="C", points=2)
    events = [
        (a, "sprint", None, str(sprint.id), datetime(2026, 3, 2, 8, 30, tzinfo=UTC)),
        (b, "sprint", None, str(sprint.id), datetime(2026, 3, 2, 8, 30, tzinfo=UTC)),
        (b, "status", "todo", "in_progress", datetime(2026, 3, 3, 10, tzinfo=UTC)),
        (a, "status", "todo", "done", datetime(2026, 3, 4, 10, tzinfo=UTC)),
        (c, "sprint", None, str(sprint.id), datetime(2026, 3, 5, 10, tzinfo=UTC)),
    ]
    for story, field, old, new, when in events:
        db_session.add(
            StoryEvent(story_id=story.id, field=field, from_value=old, to_value=new, at=when)
        )
    for story in (a, b, c):
        story.sprint_id = sprint.id
    a.status = "done"
    b.status = "in_progress"
    sprint.state = "closed"
    sprint.closed_at = datetime(2026, 3, 13, 16, tzinfo=UTC)
    db_session.commit()
    return sprint, (a, b, c)


def test_the_burndown_of_a_closed_sprint_is_stored_on_first_read_and_read_back(
    db_session, clients, closed_sprint
):
    sprint, _ = closed_sprint
    url = f"/api/v1/sprints/{sprint.id}/burndown"
    first = clients["view"].get(url)
    assert first.status_code == 200
    body = first.get_json()
    # By hand: committed 8 (A 3 + B 5 at 9:00 on 2 March); C +2 on Thursday 5 March; A done on
    # Wednesday 4 March. Days 2-6 and 9-13 March.
    assert body["committed"] == 8
    assert body["scope"] == [8, 8, 8, 10, 10, 10, 10, 10, 10, 10]
    assert body["done"] == [0, 0, 3, 3, 3, 3, 3, 3, 3, 3]
    assert body["remaining"] == [8, 8, 5, 7, 7, 7, 7, 7, 7, 7]
    assert [(c["day"], c["change"], c["points"]) for c in body["scope_changes"]] == [
        ("2026-03-05", "added", 2)
    ]
    row = stored_rows(db_session)[sprint.id]
    assert row.rules_version == stored_series.RULES_VERSION
    highest = db_session.scalar(select(func.max(StoryEvent.id)))
    assert row.last_event_id == highest
    payload = json.loads(row.payload)
    assert payload["days"][0] == "2026-03-02" and payload["committed"][:4] == [8, 2, 0, 0]

    # Tamper with the stored done points of the last day: the API now shows the stored value,
    # which proves the second read comes from the row, not from a sweep.
    original = row.payload
    payload["per_day"][-1][2] = 99
    db_session.execute(
        update(StoredSeries)
        .where(StoredSeries.sprint_id == sprint.id)
        .values(payload=json.dumps(payload))
    )
    db_session.commit()
    assert clients["view"].get(url).get_json()["done"][-1] == 99
    db_session.execute(
        update(StoredSeries).where(StoredSeries.sprint_id == sprint.id).values(payload=original)
    )
    db_session.commit()
    assert clients["view"].get(url).get_json() == body


def test_an_event_written_on_a_story_of_the_sprint_rebuilds_it(db_session, clients, closed_sprint):
    """An import adding history: B's move to done on 6 March, written after the close."""
    sprint, (a, b, c) = closed_sprint
    url = f"/api/v1/sprints/{sprint.id}/burndown"
    assert clients["view"].get(url).get_json()["done"][-1] == 3
    before = stored_rows(db_session)[sprint.id].last_event_id
    db_session.add(
        StoryEvent(
            story_id=b.id,
            field="status",
            from_value="in_progress",
            to_value="done",
            at=datetime(2026, 3, 6, 12, tzinfo=UTC),
        )
    )
    db_session.execute(update(Story).where(Story.id == b.id).values(status="done"))
    db_session.commit()
    body = clients["view"].get(url).get_json()
    # Friday 6 March on: A 3 + B 5 done.
    assert body["done"] == [0, 0, 3, 3, 8, 8, 8, 8, 8, 8]
    row = stored_rows(db_session)[sprint.id]
    assert row.last_event_id > before
    assert json.loads(row.payload)["per_day"][-1][2] == 8


def test_an_event_after_the_close_rebuilds_it_to_the_same_numbers(
    db_session, clients, closed_sprint
):
    sprint, (a, b, c) = closed_sprint
    url = f"/api/v1/sprints/{sprint.id}/burndown"
    body = clients["view"].get(url).get_json()
    before = stored_rows(db_session)[sprint.id].last_event_id
    db_session.add(
        StoryEvent(
            story_id=b.id,
            field="status",
            from_value="in_progress",
            to_value="review",
            at=datetime(2026, 3, 20, 12, tzinfo=UTC),
        )
    )
    db_session.execute(update(Story).where(Story.id == b.id).values(status="review"))
    db_session.commit()
    assert clients["view"].get(url).get_json() == body  # frozen at the close
    again = stored_rows(db_session)[sprint.id]
    assert again.last_event_id > before  # but recomputed against the new event


def test_only_events_of_stories_ever_in_the_sprint_rebuild_it(
    db_session, clients, team, closed_sprint
):
    """Newer events of a backlog story leave the stored row as it is; an event of a story moved
    out of the sprint (ever in it, through a "sprint" event) rebuilds it."""
    sprint, (a, b, c) = closed_sprint
    url = f"/api/v1/sprints/{sprint.id}/burndown"
    body = clients["view"].get(url).get_json()
    before = stored_rows(db_session)[sprint.id].last_event_id
    at = datetime(2026, 3, 20, 12, tzinfo=UTC)
    backlog = factories.story(db_session, team.project, team.editor, now=at, title="Backlog")
    db_session.commit()
    assert clients["view"].get(url).get_json() == body  # a new story outside the sprint
    for status in ("in_progress", "review", "done"):
        db_session.add(StoryEvent(story_id=backlog.id, field="status", to_value=status, at=at))
    db_session.commit()
    assert clients["view"].get(url).get_json() == body
    assert stored_rows(db_session)[sprint.id].last_event_id == before  # not rebuilt
    # C left the sprint after the close (its "sprint" event names the sprint it left); a later
    # event of C's is about a story once in the sprint: the row is rebuilt, to the same numbers.
    db_session.add(
        StoryEvent(story_id=c.id, field="sprint", from_value=str(sprint.id), to_value=None, at=at)
    )
    db_session.execute(update(Story).where(Story.id == c.id).values(sprint_id=None))
    db_session.commit()
    assert clients["view"].get(url).get_json() == body
    moved = stored_rows(db_session)[sprint.id].last_event_id
    assert moved > before
    db_session.add(StoryEvent(story_id=c.id, field="points", from_value="2", to_value="3", at=at))
    db_session.commit()
    assert clients["view"].get(url).get_json() == body
    assert stored_rows(db_session)[sprint.id].last_event_id > moved


def test_a_new_rules_version_rebuilds_it(db_session, team, closed_sprint, monkeypatch):
    sprint, _ = closed_sprint
    project = db_session.get(Project, team.project.id)
    series_for(db_session, project, sprint, now=NOW)
    db_session.commit()
    row = stored_rows(db_session)[sprint.id]
    tampered = json.loads(row.payload)
    tampered["per_day"][-1][2] = 99  # a stale number the new version must not show
    db_session.execute(
        update(StoredSeries)
        .where(StoredSeries.sprint_id == sprint.id)
        .values(payload=json.dumps(tampered))
    )
    db_session.commit()
    assert series_for(db_session, project, sprint, now=NOW).final.done_points == 99
    monkeypatch.setattr(stored_series, "RULES_VERSION", stored_series.RULES_VERSION + 1)
    assert series_for(db_session, project, sprint, now=NOW).final.done_points == 3
    db_session.commit()
    row = stored_rows(db_session)[sprint.id]
    assert row.rules_version == stored_series.RULES_VERSION
    assert json.loads(row.payload)["per_day"][-1][2] == 3


def test_a_title_edit_or_a_holiday_rebuilds_it(db_session, team, closed_sprint):
    sprint, (a, b, c) = closed_sprint
    project = db_session.get(Project, team.project.id)
    series_for(db_session, project, sprint, now=NOW)
    db_session.commit()
    db_session.execute(update(Story).where(Story.id == a.id).values(title="A, renamed"))
    db_session.add(
        StoryTextChange(story_id=a.id, field="title", from_text="A", to_text="A, renamed", at=NOW)
    )
    db_session.commit()
    got = series_for(db_session, project, sprint, now=NOW)
    db_session.commit()
    assert [s.title for s in got.final_stories] == ["A, renamed", "B", "C"]
    assert got == load_series(db_session, project, [sprint], now=NOW)[sprint.id]
    # A holiday on Monday 9 March: nine sprint days instead of ten.
    db_session.add(Holiday(project_id=project.id, day=date(2026, 3, 9)))
    db_session.commit()
    got = series_for(db_session, project, sprint, now=NOW)
    assert date(2026, 3, 9) not in got.days and len(got.days) == 9
    assert got == load_series(db_session, project, [sprint], now=NOW)[sprint.id]


def test_planned_sprints_are_never_stored_and_active_ones_through_yesterday(
    db_session, team, clients, story_one
):
    active = db_session.scalar(select(Sprint).where(Sprint.name == "Sprint 1"))
    planned = db_session.scalar(select(Sprint).where(Sprint.name == "Sprint 2"))
    for sprint in (active, planned):
        assert clients["view"].get(f"/api/v1/sprints/{sprint.id}/burndown").status_code == 200
    assert clients["view"].get(f"/projects/{team.project.key}/reports").status_code == 200
    rows = stored_rows(db_session)
    assert list(rows) == [active.id]
    today = local_today(team.project.timezone)
    assert rows[active.id].through == today - timedelta(days=1)
    assert rows[active.id].state is not None


def test_a_deleted_sprint_takes_its_stored_series_with_it(db_session, team, closed_sprint):
    sprint, _ = closed_sprint
    series_for(db_session, db_session.get(Project, team.project.id), sprint, now=NOW)
    db_session.commit()
    assert sprint.id in stored_rows(db_session)
    lock_project(db_session, db_session.get(Project, team.project.id))  # first, as writers do
    db_session.execute(update(Story).values(sprint_id=None, version=Story.version))
    db_session.execute(delete(Sprint).where(Sprint.id == sprint.id))
    db_session.commit()
    assert stored_rows(db_session) == {}


def test_two_first_readers_both_succeed(app, db_session, team, closed_sprint):
    """Both find no row and compute; the second's insert meets the first's row and replaces it."""
    sprint, _ = closed_sprint
    database = get_db(app)
    first, second = database.sessionmaker(), database.sessionmaker()
    errors: list[BaseException] = []
    try:
        p1 = first.get(Project, team.project.id)
        s1 = first.get(Sprint, sprint.id)
        one = series_for(first, p1, s1, now=NOW)  # upserted, not committed yet

        def other() -> None:
            try:
                p2 = second.get(Project, team.project.id)
                s2 = second.get(Sprint, sprint.id)
                two = series_for(second, p2, s2, now=NOW)  # sees no row; waits at its insert
                second.commit()
                assert two == one
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

        thread = threading.Thread(target=other)
        thread.start()
        time.sleep(0.5)
        first.commit()
        thread.join(30)
        assert not thread.is_alive()
    finally:
        first.close()
        second.close()
    assert errors == []
    assert list(stored_rows(db_session)) == [sprint.id]


# --- constant queries ---------------------------------------------------------------------------


def sprint_with_stories(db_session, team, size: int, name: str, state: str) -> Sprint:
    """A sprint of 2-13 March 2026 with `size` stories moved in on its first morning, each
    started on a later day (points 0, 1, 2, 3, 5 in turn)."""
    sprint = factories.sprint(
        db_session,
        team.project,
        name,
        date(2026, 3, 2),
        date(2026, 3, 13),
        state=state,
        started_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
    )
    at = datetime(2026, 3, 2, 8, tzinfo=UTC)
    for n in range(size):
        story = factories.story(
            db_session,
            team.project,
            team.editor,
            now=at,
            title=f"S{n}",
            points=(0, 1, 2, 3, 5)[n % 5],
        )
        db_session.add_all(
            [
                StoryEvent(
                    story_id=story.id,
                    field="sprint",
                    from_value=None,
                    to_value=str(sprint.id),
                    at=at,
                ),
                StoryEvent(
                    story_id=story.id,
                    field="status",
                    from_value="todo",
                    to_value="in_progress",
                    at=datetime(2026, 3, 3 + n % 8, 10, tzinfo=UTC),
                ),
            ]
        )
        story.sprint_id = sprint.id
        story.status = "in_progress"
    db_session.commit()
    return sprint


def closed_sprint_of(db_session, team, size: int) -> Sprint:
    sprint = sprint_with_stories(db_session, team, size, f"Closed {size}", "active")
    sprint.state = "closed"
    sprint.closed_at = datetime(2026, 3, 13, 16, tzinfo=UTC)
    db_session.commit()
    return sprint


def test_a_closed_sprints_second_read_costs_the_same_queries_at_5_and_200_stories(
    db_session, team, clients, count_queries
):
    small = closed_sprint_of(db_session, team, 5)
    big = closed_sprint_of(db_session, team, 200)
    counts = {}
    for sprint in (small, big):
        url = f"/api/v1/sprints/{sprint.id}/burndown"
        assert clients["view"].get(url).status_code == 200  # computes and stores
        with count_queries() as counter:
            response = clients["view"].get(url)
        assert response.status_code == 200
        counts[sprint.id] = len(counter.statements)
    assert counts[small.id] == counts[big.id]
    assert set(stored_rows(db_session)) == {small.id, big.id}
    # The velocity and the report page read both stored series in constant queries too.
    with count_queries() as velocity_queries:
        assert (
            clients["view"].get(f"/api/v1/projects/{team.project.key}/velocity").status_code == 200
        )
    with count_queries() as report_queries:
        page = clients["view"].get(f"/projects/{team.project.key}/reports?sprint={big.id}")
    assert page.status_code == 200
    # None of those reads touched a story or an event row: only the one check query names them.
    for counter in (velocity_queries, report_queries):
        reading_events = [s for s in counter.statements if "story_event.at" in s]
        assert reading_events == []
