"""An active sprint's stored state (docs/rules.md, "Stored series"): the state at the end of the
last completed day is stored, a later read sweeps only what is dated from then on, and the result
always equals a fresh sweep: for every demo sprint and for seeded random histories, with events
arriving after the state was stored (dated today, at the day boundary, or in the past: then it is
rebuilt), stories created or moved in since, and reads on later days. A hand-worked sprint shows
which reads keep the row and which rebuild it; the second read costs the same queries for 5
stories as for 200."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from planner.demo import dated_demo
from planner.domain.history import load_series
from planner.domain.series import series_for, series_for_many
from planner.interchange.importer import import_document
from planner.models import Project, Sprint, StoredSeries, Story, StoryEvent
from tests import factories
from tests.demo_oracle import demo_oracle
from tests.test_metrics_oracle import NOW, assert_same, random_case
from tests.test_sprint_series import project_sprints, put_case, sprint_with_stories

STATUSES = ("todo", "in_progress", "review", "done")
POINTS = (None, 0, 1, 2, 3, 5, 8, 13)


def assert_equal_to_a_fresh_sweep(session, project, sprints, now) -> dict:
    got = series_for_many(session, project, sprints, now=now)
    fresh = load_series(session, project, sprints, now=now)
    for sprint in sprints:
        assert got[sprint.id] == fresh[sprint.id], (sprint.name, now)
        # The pages the burndown API reads, and the per-day summary, as the list says.
        changes = got[sprint.id].scope_changes
        assert list(changes[1:4]) == fresh[sprint.id].scope_changes[1:4]
    return got


def row_of(session, sprint_id: int) -> tuple:
    session.expire_all()
    row = session.get(StoredSeries, sprint_id)
    return (row.through, row.last_event_id, row.computed_at, row.state)


# --- random histories --------------------------------------------------------------------------


def _has_active(seed: int) -> bool:
    return any(s.state == "active" for s in random_case(random.Random(seed))[1])


ACTIVE_SEEDS = [seed for seed in range(200) if _has_active(seed)][:40]


def add_event(session, rng, story_ids, sprint_ids, at, consistent: bool) -> bool:
    """A change as planner records it (from = the story's value, which then changes), or, when
    not `consistent`, one whose `from` is any value (an import of another tool's history).
    Return whether it comes after every earlier event of that story and field (as planner
    records them: then a stored state never needs rebuilding for it)."""
    story = session.get(Story, rng.choice(story_ids))
    field = rng.choice(["status", "status", "points", "sprint", "sprint"])
    column = {"status": "status", "points": "points", "sprint": "sprint_id"}[field]
    choices = {"status": STATUSES, "points": POINTS, "sprint": (None, *sprint_ids)}[field]
    latest = session.scalar(
        select(func.max(StoryEvent.at)).where(
            StoryEvent.story_id == story.id, StoryEvent.field == field
        )
    )
    old = getattr(story, column) if consistent else rng.choice(choices)
    new = rng.choice([c for c in choices if c != old])
    session.add(
        StoryEvent(
            story_id=story.id,
            field=field,
            from_value=None if old is None else str(old),
            to_value=None if new is None else str(new),
            at=at,
        )
    )
    setattr(story, column, new)
    session.flush()
    return latest is None or latest <= at


@pytest.mark.parametrize("seed", ACTIVE_SEEDS)
def test_random_histories_with_events_arriving_later_equal_a_fresh_sweep(db_session, seed):
    project, infos, rows, _, now, _, _ = put_case(db_session, seed)
    rng = random.Random(seed * 7919)
    active = next(r for r in rows if r.state == "active")
    tz = ZoneInfo(project.timezone)
    # The first read: somewhere from two days before the sprint to three after its end.
    day = active.start_date + timedelta(
        days=rng.randint(-2, (active.end_date - active.start_date).days + 3)
    )
    first_now = datetime.combine(day, time(rng.randint(0, 23)), tzinfo=tz).astimezone(UTC)
    assert_equal_to_a_fresh_sweep(db_session, project, rows, first_now)
    db_session.commit()
    stored = row_of(db_session, active.id)
    assert stored[0] == day - timedelta(days=1)  # through yesterday (local)
    start_of_today = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)

    story_ids = list(db_session.scalars(select(Story.id).where(Story.project_id == project.id)))
    sprint_ids = [r.id for r in rows]
    past_dated = inconsistent = False
    for _ in range(rng.randint(1, 6)):
        kind = rng.random()
        if kind < 0.2:  # dated before today: the stored state cannot take it
            at = start_of_today - timedelta(minutes=rng.choice([1, 90, 3000]))
            past_dated = True
        elif kind < 0.35:  # exactly at the day boundary: swept
            at = start_of_today
        else:
            at = start_of_today + timedelta(minutes=rng.randint(0, 3 * 1440))
        consistent = rng.random() < 0.85
        inconsistent = inconsistent or not consistent
        in_order = add_event(db_session, rng, story_ids, sprint_ids, at, consistent)
        inconsistent = inconsistent or not in_order
    if rng.random() < 0.4:  # a story created since, in the active sprint
        number = len(story_ids) + 1
        db_session.add(
            Story(
                project_id=project.id,
                number=number,
                title=f"New {number}",
                status=rng.choice(STATUSES),
                points=rng.choice(POINTS),
                sprint_id=active.id,
                rank=number,
                created_at=start_of_today + timedelta(minutes=rng.randint(0, 2000)),
            )
        )
    db_session.commit()

    later = first_now + timedelta(hours=rng.choice([0, 0, 1, 30, 80]))
    assert_equal_to_a_fresh_sweep(db_session, project, rows, later)
    db_session.commit()
    later_day = later.astimezone(tz).date()
    if later_day == day and not past_dated and not inconsistent:
        assert row_of(db_session, active.id) == stored  # swept on top of the stored state
    elif later_day > day:
        assert row_of(db_session, active.id)[0] == later_day - timedelta(days=1)  # stored again
    # And read again from whatever is stored now.
    assert_equal_to_a_fresh_sweep(db_session, project, rows, later)
    assert_equal_to_a_fresh_sweep(db_session, project, rows, later + timedelta(days=2))


def test_every_demo_sprint_with_events_arriving_later_equals_a_fresh_sweep(db_session):
    document = dated_demo(NOW)
    imported = import_document(db_session, document, hash_method=factories.HASH)
    db_session.commit()
    project = db_session.get(Project, imported.id)
    rows = project_sprints(db_session, project.id)
    active = next(r for r in rows if r.state == "active")
    two_days_ago = NOW - timedelta(days=2)
    got = assert_equal_to_a_fresh_sweep(db_session, project, rows, two_days_ago)
    db_session.commit()
    # Before anything new: the naive oracle of tests/test_metrics_oracle.py agrees, and again
    # when read from the stored state.
    oracle = demo_oracle(db_session, document, rows, two_days_ago)
    again = series_for_many(db_session, project, rows, now=two_days_ago + timedelta(hours=1))
    for row in rows:
        again[row.id].today = got[row.id].today  # an hour later: only "today" may differ
        for series in (got[row.id], again[row.id]):
            assert_same(series, oracle.expected_for(row), oracle.story_row, oracle.person)
    members = list(db_session.scalars(select(Story).where(Story.sprint_id == active.id)))
    # Today's moves on the board, then a read the same day: swept on the stored state.
    story = members[0]
    db_session.add(
        StoryEvent(
            story_id=story.id,
            field="status",
            from_value=story.status,
            to_value="done",
            at=two_days_ago + timedelta(minutes=5),
        )
    )
    story.status = "done"
    db_session.commit()
    stored = row_of(db_session, active.id)
    assert_equal_to_a_fresh_sweep(db_session, project, rows, two_days_ago + timedelta(minutes=10))
    db_session.commit()
    assert row_of(db_session, active.id) == stored
    # Two days on, a backlog story moved in and one re-estimated: stored through yesterday.
    backlog = db_session.scalar(select(Story).where(Story.sprint_id.is_(None)).limit(1))
    db_session.add_all(
        [
            StoryEvent(
                story_id=backlog.id,
                field="sprint",
                from_value=None,
                to_value=str(active.id),
                at=NOW - timedelta(hours=1),
            ),
            StoryEvent(
                story_id=members[1].id,
                field="points",
                from_value=None if members[1].points is None else str(members[1].points),
                to_value="13",
                at=NOW - timedelta(minutes=30),
            ),
        ]
    )
    backlog.sprint_id = active.id
    members[1].points = 13
    db_session.commit()
    assert_equal_to_a_fresh_sweep(db_session, project, rows, NOW)
    db_session.commit()
    assert row_of(db_session, active.id)[0] == NOW.date() - timedelta(days=1)
    # A past-dated import on a story of the sprint: rebuilt, and still equal.
    db_session.add(
        StoryEvent(
            story_id=members[2].id,
            field="status",
            from_value="todo",
            to_value="in_progress",
            at=NOW - timedelta(days=4),
        )
    )
    db_session.commit()
    before = row_of(db_session, active.id)
    assert_equal_to_a_fresh_sweep(db_session, project, rows, NOW)
    db_session.commit()
    after = row_of(db_session, active.id)
    assert after[1] > before[1] and after[0] == before[0]


# --- by hand -----------------------------------------------------------------------------------


@pytest.fixture
def active_sprint(db_session, team):
    """FRAUD Sprint 1 (Monday 2 - Friday 13 March 2026, UTC), started 2 March 9:00: A 3 points,
    B 5 points, both in it since 8:30; A done on Wednesday 4 March at 10:00."""
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
    for story in (a, b):
        db_session.add(
            StoryEvent(
                story_id=story.id,
                field="sprint",
                from_value=None,
                to_value=str(sprint.id),
                at=datetime(2026, 3, 2, 8, 30, tzinfo=UTC),
            )
        )
        story.sprint_id = sprint.id
    db_session.add(
        StoryEvent(
            story_id=a.id,
            field="status",
            from_value="todo",
            to_value="done",
            at=datetime(2026, 3, 4, 10, tzinfo=UTC),
        )
    )
    a.status = "done"
    db_session.commit()
    return sprint, a, b


def status_event(session, story, new, at) -> None:
    session.add(
        StoryEvent(story_id=story.id, field="status", from_value=story.status, to_value=new, at=at)
    )
    story.status = new
    session.commit()


def test_an_active_sprint_by_hand(db_session, team, active_sprint):
    sprint, a, b = active_sprint
    project = db_session.get(Project, team.project.id)
    thursday = datetime(2026, 3, 5, 15, tzinfo=UTC)
    got = series_for(db_session, project, sprint, now=thursday)
    db_session.commit()
    # Committed 8; done 3 from Wednesday; days after Thursday are still to come (null).
    assert got.series()["remaining"] == [8, 8, 5, 5, None, None, None, None, None, None]
    through, last_event, computed, _ = row_of(db_session, sprint.id)
    assert through == date(2026, 3, 4)  # Wednesday: the last day that has ended

    # B done on Thursday at 16:00, read the same day: swept on the stored state, row kept.
    status_event(db_session, b, "done", datetime(2026, 3, 5, 16, tzinfo=UTC))
    got = series_for(db_session, project, sprint, now=thursday + timedelta(hours=2))
    db_session.commit()
    assert got.series()["remaining"] == [8, 8, 5, 0, None, None, None, None, None, None]
    assert row_of(db_session, sprint.id)[:3] == (through, last_event, computed)

    # Friday: stored again through Thursday.
    friday = datetime(2026, 3, 6, 9, tzinfo=UTC)
    got = series_for(db_session, project, sprint, now=friday)
    db_session.commit()
    assert got.series()["remaining"] == [8, 8, 5, 0, 0, None, None, None, None, None]
    assert row_of(db_session, sprint.id)[0] == date(2026, 3, 5)

    # An import adds B's move to review on Tuesday 3 March, before the stored day: rebuilt.
    # B is in review from Tuesday until Thursday's done; the remaining points do not move.
    db_session.add(
        StoryEvent(
            story_id=b.id,
            field="status",
            from_value="todo",
            to_value="review",
            at=datetime(2026, 3, 3, 12, tzinfo=UTC),
        )
    )
    db_session.commit()
    got = series_for(db_session, project, sprint, now=friday)
    db_session.commit()
    assert got.series()["remaining"] == [8, 8, 5, 0, 0, None, None, None, None, None]
    review = [t.by_status[2] for t in got.per_day[:5]]
    assert review == [0, 1, 1, 0, 0]  # B in review from Tuesday to Wednesday
    assert row_of(db_session, sprint.id)[1] > last_event  # rebuilt against the new event


def test_a_story_created_today_in_the_sprint_is_swept_not_rebuilt(db_session, team, active_sprint):
    sprint, a, b = active_sprint
    project = db_session.get(Project, team.project.id)
    thursday = datetime(2026, 3, 5, 15, tzinfo=UTC)
    series_for(db_session, project, sprint, now=thursday)
    db_session.commit()
    stored = row_of(db_session, sprint.id)
    c = factories.story(
        db_session,
        team.project,
        team.editor,
        now=datetime(2026, 3, 5, 15, 30, tzinfo=UTC),
        title="C",
        points=2,
        sprint=sprint.id,
    )
    db_session.commit()
    got = series_for(db_session, project, sprint, now=thursday + timedelta(hours=1))
    db_session.commit()
    # C +2 on Thursday after the start: scope 10 from Thursday.
    assert got.series()["scope"][:4] == [8, 8, 8, 10]
    assert [(ch.day, ch.story, ch.change, ch.points) for ch in got.scope_changes] == [
        (date(2026, 3, 5), f"FRAUD-{c.number}", "added", 2)
    ]
    assert row_of(db_session, sprint.id) == stored
    assert got == load_series(db_session, project, [sprint], now=thursday)[sprint.id]


# --- constant queries ---------------------------------------------------------------------------


def active_sprint_of(db_session, team, size: int) -> Sprint:
    state = "active" if size == 5 else "planned"
    return sprint_with_stories(db_session, team, size, f"Active {size}", state)


def test_an_active_sprints_second_read_costs_the_same_queries_at_5_and_200_stories(
    db_session, team, count_queries
):
    """One active sprint a project: the small one is read, closed, then the big one started."""
    project = db_session.get(Project, team.project.id)
    now = datetime(2026, 3, 11, 12, tzinfo=UTC)
    counts = []
    small = active_sprint_of(db_session, team, 5)
    big = active_sprint_of(db_session, team, 200)
    for sprint in (small, big):
        if sprint is big:
            small.state, small.closed_at = "closed", datetime(2026, 3, 10, tzinfo=UTC)
            big.state = "active"
            db_session.commit()
        series_for(db_session, project, sprint, now=now)  # stores the state through yesterday
        db_session.commit()
        with count_queries() as counter:
            got = series_for(db_session, project, sprint, now=now + timedelta(hours=1))
        counts.append(len(counter.statements))
        assert got == load_series(db_session, project, [sprint], now=now)[sprint.id]
    assert counts[0] == counts[1]


def test_the_scope_changes_are_read_from_the_row_a_read_has_just_replaced(
    db_session, team, active_sprint, count_queries
):
    """The first read of a day stores the state anew; the scope changes it returns were read
    before that (never from a fresh sweep), and a later read of the same day reads a page."""
    sprint, a, b = active_sprint
    project = db_session.get(Project, team.project.id)
    c = factories.story(
        db_session,
        team.project,
        team.editor,
        now=datetime(2026, 3, 3, 11, tzinfo=UTC),
        title="C",
        points=2,
        sprint=sprint.id,
    )
    db_session.commit()
    series_for(db_session, project, sprint, now=datetime(2026, 3, 5, 15, tzinfo=UTC))
    db_session.commit()
    friday = datetime(2026, 3, 6, 9, tzinfo=UTC)
    got = series_for(db_session, project, sprint, now=friday)  # stored again through Thursday
    with count_queries() as counter:
        changes = [(ch.day, ch.story, ch.change, ch.points) for ch in got.scope_changes]
    assert changes == [(date(2026, 3, 3), f"FRAUD-{c.number}", "added", 2)]
    assert counter.statements == []
    db_session.commit()
    got = series_for(db_session, project, sprint, now=friday + timedelta(hours=1))
    with count_queries() as counter:
        page = got.scope_changes[0:100]
    assert [(ch.day, ch.change, ch.points) for ch in page] == [(date(2026, 3, 3), "added", 2)]
    assert len(counter.statements) == 1 and "substr" in counter.statements[0]


def test_a_slice_that_ends_in_the_stored_part_takes_nothing_of_the_tail():
    """An active sprint's list: 5 changes stored, 10 of today's after them."""
    from planner.domain.series import StoredList

    stored = [f"s{i}" for i in range(5)]
    today = [f"t{i}" for i in range(10)]
    items = StoredList(5, lambda: list(stored), lambda a, b: stored[a:b], today)
    assert items[0:3] == ["s0", "s1", "s2"]
    assert items[4:5] == ["s4"]
    assert items[3:7] == ["s3", "s4", "t0", "t1"]
    assert items[5:7] == ["t0", "t1"]
    assert items[13:100] == ["t8", "t9"]
    assert len(items) == 15 and items[14] == "t9"
