"""A story's own answer reads its history, labels, dependencies and checklist progress in one query
(planner.domain.dependencies.story_parts, issue 16): the same values in the same order as the four
reads it replaces, on the demo and on a story built by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from planner.demo import install_demo
from planner.domain.checklists import Progress, add_item, progress_of, set_done
from planner.domain.context import load_context
from planner.domain.dependencies import add_blocker, dependencies_of, story_parts
from planner.domain.labels import labels_of, set_labels
from planner.domain.stories import update_story
from planner.models import Account, Story, StoryEvent
from tests import factories

NOW = datetime(2026, 3, 3, 10, tzinfo=UTC)


def test_one_query_gives_a_storys_history_labels_dependencies_and_checklist(
    db_session, team, clients, count_queries
):
    one, two, three, four = (
        factories.story(db_session, team.project, team.editor, title=f"Story {n}", points=3)
        for n in range(1, 5)
    )
    ctx = load_context(db_session, team.project)
    update_story(db_session, ctx, three, {"status": "done"}, by=team.editor, now=NOW)
    churn = factories.project(db_session, "CHURN", "Churn", owner=team.manager)
    hidden = factories.story(db_session, churn, team.manager, title="Consent flags")
    for blocker in (three, two, hidden):
        add_blocker(db_session, one, blocker, by=team.manager, now=NOW)
    add_blocker(db_session, four, one, by=team.manager, now=NOW)
    ctx = load_context(db_session, team.project)
    # The points change is written last but dated earlier: history goes by when things happened.
    later, earlier = NOW + timedelta(hours=2), NOW + timedelta(hours=1)
    update_story(db_session, ctx, one, {"status": "in_progress"}, by=team.editor, now=later)
    update_story(db_session, ctx, one, {"points": 5}, by=team.manager, now=earlier)
    set_labels(db_session, one, ["needs-data", "GDPR", "b"])
    items = [add_item(db_session, one, text) for text in ("split", "baseline", "report")]
    set_done(db_session, items[1], True)
    db_session.commit()

    editor = db_session.get(Account, team.editor.id)
    with count_queries() as counter:
        parts = story_parts(db_session, one, editor)
    assert len(counter.statements) == 1
    assert [(e.field, e.from_value, e.to_value, e.at, e.by_id) for e in parts.history] == [
        ("points", "3", "5", NOW + timedelta(hours=1), team.manager.id),
        ("status", "todo", "in_progress", NOW + timedelta(hours=2), team.editor.id),
    ]
    assert parts.labels == ["GDPR", "b", "needs-data"]
    # Unfinished first, then by project key and number; the editor is no member of CHURN.
    assert [(x.key, x.title, x.status) for x in parts.dependencies.blocked_by] == [
        (None, None, "todo"),
        ("FRAUD-2", "Story 2", "todo"),
        ("FRAUD-3", "Story 3", "done"),
    ]
    assert [(x.key, x.sprint_id) for x in parts.dependencies.blocks] == [("FRAUD-4", None)]
    assert parts.checklist == Progress(1, 3)
    manager = db_session.get(Account, team.manager.id)
    assert [x.key for x in story_parts(db_session, one, manager).dependencies.blocked_by] == [
        "CHURN-1",
        "FRAUD-2",
        "FRAUD-3",
    ]
    bare = story_parts(db_session, four, editor)
    assert (bare.history, bare.labels, bare.checklist) == ([], [], Progress(0, 0))
    assert [x.key for x in bare.dependencies.blocked_by] == ["FRAUD-1"]

    answer = clients["edit"].get("/api/v1/stories/FRAUD-1").get_json()
    assert [(e["field"], e["from"], e["to"], e["by"]) for e in answer["history"]] == [
        ("points", 3, 5, "maya@example.com"),
        ("status", "todo", "in_progress", "priya@example.com"),
    ]
    assert answer["labels"] == ["GDPR", "b", "needs-data"]
    assert (answer["blocked_by"], answer["blocks"]) == (["FRAUD-2", "FRAUD-3"], ["FRAUD-4"])
    assert answer["checklist"] == {"done": 1, "total": 3}
    patched = clients["edit"].api(
        "PATCH", "/api/v1/stories/FRAUD-1", {"version": answer["version"], "title": "Renamed"}
    )
    assert patched.status_code == 200, patched.get_data(as_text=True)
    body = patched.get_json()
    # The PATCH answers what the GET does (no artefact links), with the edit.
    expected = {k: v for k, v in answer.items() if k != "links"}
    expected.update(title="Renamed", version=answer["version"] + 1, updated_by="priya@example.com")
    assert body["updated_at"] > answer["updated_at"]
    assert body == {**expected, "updated_at": body["updated_at"]}


def test_the_one_query_agrees_with_the_four_reads_for_every_demo_story(db_session):
    install_demo(db_session, hash_method=factories.HASH, mlflow_folder=None)
    db_session.commit()
    viewer = db_session.scalar(select(Account).where(Account.email == "maya@example.com"))
    stories = db_session.scalars(select(Story).order_by(Story.id)).all()
    assert len(stories) > 20
    for story in stories:
        parts = story_parts(db_session, story, viewer)
        events = db_session.scalars(
            select(StoryEvent)
            .where(StoryEvent.story_id == story.id)
            .order_by(StoryEvent.at, StoryEvent.id)
        ).all()
        assert [tuple(e) for e in parts.history] == [
            (e.at, e.field, e.from_value, e.to_value, e.by_id) for e in events
        ]
        assert parts.labels == sorted(labels_of(db_session, story))
        assert parts.dependencies == dependencies_of(db_session, story, viewer)
        assert parts.checklist == progress_of(db_session, [story.id]).get(story.id, Progress(0, 0))
