"""The database itself refuses what the domain refuses: constraints are not only in Python."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from planner.models import Membership, Risk, Sprint, Story, StoryEvent
from tests import factories

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def story_row(project_id: int, number: int, **overrides) -> dict:
    row = {
        "project_id": project_id,
        "number": number,
        "title": "t",
        "type": "feature",
        "status": "todo",
        "rank": 0,
        "version": 1,
        "blocked": False,
        "created_at": NOW,
        "updated_at": NOW,
    }
    row.update(overrides)
    return row


def sprint_row(project_id: int, name: str, **overrides) -> dict:
    row = {
        "project_id": project_id,
        "name": name,
        "start_date": date(2026, 3, 2),
        "end_date": date(2026, 3, 13),
        "state": "planned",
        "created_at": NOW,
    }
    row.update(overrides)
    return row


@pytest.mark.parametrize(
    ("table", "make_row"),
    [
        (Story, lambda p: story_row(p, 1, points=4)),
        (Story, lambda p: story_row(p, 1, status="blocked")),
        (Story, lambda p: story_row(p, 1, type="epic")),
        (Story, lambda p: story_row(p, 1, role="wizard")),
        (Story, lambda p: story_row(p, 1, outcome="maybe")),
        (Story, lambda p: story_row(p, 0)),
        (Story, lambda p: story_row(p, 1, stage_id=987654)),
        (Sprint, lambda p: sprint_row(p, "S", end_date=date(2026, 3, 1))),
        (Sprint, lambda p: sprint_row(p, "S", state="running")),
        (Sprint, lambda p: sprint_row(p, "S", state="active")),  # active without started_at
        (Sprint, lambda p: sprint_row(p, "S", state="closed", started_at=NOW)),  # no closed_at
        (
            Membership,
            lambda p: {"project_id": p, "account_id": 1, "access": "admin", "created_at": NOW},
        ),
        (
            Risk,
            lambda p: {
                "project_id": p,
                "title": "r",
                "category": "privacy",
                "likelihood": 6,
                "impact": 3,
                "status": "open",
                "created_at": NOW,
                "updated_at": NOW,
            },
        ),
        (
            Risk,
            lambda p: {
                "project_id": p,
                "title": "r",
                "category": "weather",
                "likelihood": 2,
                "impact": 3,
                "status": "open",
                "created_at": NOW,
                "updated_at": NOW,
            },
        ),
    ],
)
def test_the_database_refuses_values_off_the_domain(db_session, team, table, make_row):
    with pytest.raises(IntegrityError):
        db_session.execute(insert(table), [make_row(team.project.id)])
        db_session.flush()


def test_story_numbers_are_unique_per_project(db_session, team):
    db_session.execute(insert(Story), [story_row(team.project.id, 7)])
    with pytest.raises(IntegrityError):
        db_session.execute(insert(Story), [story_row(team.project.id, 7)])


def test_a_project_has_at_most_one_active_sprint(db_session, team):
    db_session.execute(
        insert(Sprint), [sprint_row(team.project.id, "A", state="active", started_at=NOW)]
    )
    db_session.execute(insert(Sprint), [sprint_row(team.project.id, "B", state="planned")])
    with pytest.raises(IntegrityError):
        db_session.execute(
            insert(Sprint), [sprint_row(team.project.id, "C", state="active", started_at=NOW)]
        )


def test_another_project_may_have_its_own_active_sprint(db_session, team):
    other = factories.project(db_session, "CV", "Vision", owner=team.manager)
    db_session.execute(
        insert(Sprint), [sprint_row(team.project.id, "A", state="active", started_at=NOW)]
    )
    db_session.execute(insert(Sprint), [sprint_row(other.id, "A", state="active", started_at=NOW)])
    db_session.flush()


def test_story_events_only_record_tracked_fields(db_session, team):
    story = factories.story(db_session, team.project, team.editor)
    with pytest.raises(IntegrityError):
        db_session.execute(
            insert(StoryEvent),
            [
                {
                    "story_id": story.id,
                    "field": "title",
                    "from_value": "a",
                    "to_value": "b",
                    "at": NOW,
                }
            ],
        )


def test_naive_datetimes_are_refused_before_they_reach_the_database(db_session, team):
    story = factories.story(db_session, team.project, team.editor)
    db_session.add(
        StoryEvent(
            story_id=story.id,
            field="status",
            from_value="todo",
            to_value="done",
            at=datetime(2026, 3, 2, 9, 0),
        )
    )
    with pytest.raises(Exception, match="timezone-aware"):
        db_session.flush()


def test_timestamps_come_back_aware_and_in_utc(db_session, team):
    story = factories.story(
        db_session, team.project, team.editor, now=datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    )
    db_session.commit()
    db_session.expire_all()
    again = db_session.get(Story, story.id)
    assert again.created_at == datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    assert again.created_at.utcoffset().total_seconds() == 0
