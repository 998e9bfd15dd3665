"""The realistic fixtures in tests/fixtures/jira: a Jira Cloud export with every quirk, a Data
Center export in another date style and column order, and a Cloud export in German. Each
`*.expected.json` was written by hand from the CSV (never computed by planner): every issue's
mapped fields are checked against it, then a second import must change nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from planner.interchange.jira_csv import read_jira_csv
from planner.interchange.jira_import import import_jira
from planner.models import Account, Comment, Epic, Label, Sprint, Story, StoryEvent, story_label
from tests import factories

FIXTURES = Path(__file__).parent / "fixtures" / "jira"
# Importing a few weeks after the last date in the files, as a team moving over would.
NOW = datetime(2024, 4, 10, 12, 0, tzinfo=UTC)


def moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def people(db_session):
    maya = factories.account(db_session, "maya@example.com", "Maya Chen")
    priya = factories.account(db_session, "priya@example.com", "Priya Natarajan")
    return maya, priya


def setup(db_session, people, key: str):
    maya, priya = people
    project = factories.project(db_session, key, f"{key} from Jira", owner=maya)
    factories.member(db_session, project, priya, "edit", ["data_scientist"])
    db_session.commit()
    return project


def expected_account(raw: str | None, people) -> int | None:
    """Who the hand-written assignee is in planner: matched by e-mail or display name."""
    maya, priya = people
    return {
        "Maya Chen": maya.id,
        "maya@example.com": maya.id,
        "Priya Natarajan": priya.id,
    }.get(raw)


@pytest.mark.parametrize(
    ("name", "key"), [("cloud", "FRAUD"), ("datacenter", "CHURN"), ("german", "BETRUG")]
)
def test_every_issue_maps_as_written_by_hand(db_session, people, name, key):
    expected = json.loads((FIXTURES / f"{name}.expected.json").read_text(encoding="utf-8"))
    project = setup(db_session, people, key)
    data = (FIXTURES / f"{name}.csv").read_bytes()
    jira = read_jira_csv(data, timezone=expected["timezone"])
    outcome = import_jira(db_session, project, jira, by=people[0], now=NOW)
    db_session.commit()

    assert outcome.epics_created == expected["epics_count"]
    assert outcome.stories_created == expected["stories_count"]
    assert [s.name for s in outcome.sprints] == expected["sprints"]
    assert {(p["row"], p["column"]) for p in expected["problems"]} <= {
        (p.row, p.column) for p in outcome.problems
    }
    rows = {p["row"] for p in expected["problems"]}
    assert all(p.row in rows for p in outcome.problems if "point" in p.column.lower())

    epics = {
        e.external_ref: e
        for e in db_session.scalars(select(Epic).where(Epic.project_id == project.id))
    }
    sprints = {
        str(s.id): s.name
        for s in db_session.scalars(select(Sprint).where(Sprint.project_id == project.id))
    }
    for item in expected["issues"]:
        if item["kind"] == "epic":
            assert epics[item["key"]].title == item["title"], item["key"]
            for fragment in item.get("description_contains", []):
                assert fragment in (epics[item["key"]].description or ""), (item["key"], fragment)
            continue
        story = db_session.scalar(
            select(Story).where(Story.project_id == project.id, Story.external_ref == item["key"])
        )
        where = item["key"]
        assert story.title == item["title"], where
        assert story.type == item["type"], where
        assert story.status == item["status"], where
        assert story.points == item["points"], where
        epic_id = epics[item["epic"]].id if item["epic"] else None
        assert story.epic_id == epic_id, where
        assert (sprints.get(str(story.sprint_id)) if story.sprint_id else None) == item["sprint"], (
            where
        )
        assert story.assignee_id == expected_account(item["assignee"], people), where
        labels = db_session.scalars(
            select(Label.name)
            .join(story_label, story_label.c.label_id == Label.id)
            .where(story_label.c.story_id == story.id)
        ).all()
        assert sorted(labels) == sorted(item["labels"]), where
        assert story.created_at == moment(item["created_utc"]), where
        events = db_session.scalars(
            select(StoryEvent)
            .where(StoryEvent.story_id == story.id)
            .order_by(StoryEvent.at, StoryEvent.id)
        ).all()
        moves = [e for e in events if e.field == "sprint"]
        carried = [sprints[e.from_value] for e in moves]
        assert carried == item["carried_through"], where
        done = [e for e in events if e.field == "status" and e.to_value == "done"]
        if item["status"] == "done" and item["resolved_utc"]:
            assert [e.at for e in done] == [moment(item["resolved_utc"])], where
        comments = db_session.scalars(
            select(Comment)
            .where(Comment.story_id == story.id)
            .order_by(Comment.created_at, Comment.id)
        ).all()
        assert [c.created_at for c in comments] == [
            moment(c["at_utc"]) for c in item["comments"]
        ], where
        for comment, wanted in zip(comments, item["comments"], strict=True):
            first_words = wanted["text"].split("\n")[0][:20]
            assert first_words.replace("*", "") in comment.body.replace("*", ""), where
        for fragment in item.get("description_contains", []):
            assert fragment in (story.description or ""), (where, fragment)

    # The same file again: nothing changes.
    before = [
        db_session.scalar(select(func.count()).select_from(t))
        for t in (Story, StoryEvent, Epic, Sprint, Comment, Label, story_label, Account)
    ]
    again = import_jira(
        db_session,
        project,
        read_jira_csv(data, timezone=expected["timezone"]),
        by=people[0],
        now=NOW,
    )
    db_session.commit()
    assert not again.changed
    after = [
        db_session.scalar(select(func.count()).select_from(t))
        for t in (Story, StoryEvent, Epic, Sprint, Comment, Label, story_label, Account)
    ]
    assert after == before
