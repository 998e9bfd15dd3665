"""Story rules: numbering, validation, and the history every tracked change must write."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from planner.domain import StaleVersionError, ValidationError
from planner.domain.context import load_context
from planner.domain.stories import RANK_STEP, create_story, update_story
from planner.models import Story, StoryEvent
from tests import factories

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def events_of(session, story):
    return [
        (e.field, e.from_value, e.to_value, e.by_id)
        for e in session.scalars(
            select(StoryEvent).where(StoryEvent.story_id == story.id).order_by(StoryEvent.id)
        )
    ]


def test_stories_are_numbered_per_project_and_ranked_at_the_bottom(db_session, team):
    other = factories.project(db_session, "CV", "Vision", owner=team.manager)
    a = factories.story(db_session, team.project, team.editor, title="first")
    b = factories.story(db_session, team.project, team.editor, title="second")
    c = factories.story(db_session, other, team.manager, title="other project")
    assert (a.number, b.number, c.number) == (1, 2, 1)
    assert a.key_in("FRAUD") == "FRAUD-1"
    assert (a.rank, b.rank) == (RANK_STEP, 2 * RANK_STEP)
    assert team.project.story_counter == 2


def test_creating_a_story_writes_no_events(db_session, team):
    story = factories.story(db_session, team.project, team.editor, status="in_progress", points=3)
    assert events_of(db_session, story) == []
    assert story.version == 1
    assert story.created_at == T0


def test_each_changed_tracked_field_writes_one_event_with_from_and_to(db_session, team):
    sprint = factories.sprint(
        db_session, team.project, "Sprint 1", date(2026, 3, 2), date(2026, 3, 13)
    )
    story = factories.story(db_session, team.project, team.editor, points=3, stage="modeling")
    ctx = load_context(db_session, team.project)
    events = update_story(
        db_session,
        ctx,
        story,
        {
            "status": "in_progress",
            "points": "5",
            "sprint": sprint.id,
            "stage": "evaluation",
            "role": "ml_engineer",
            "assignee": "priya@example.com",
            "title": "Renamed",  # not tracked: no event, but a new version
        },
        by=team.editor,
        now=T0 + timedelta(hours=2),
    )
    assert len(events) == 6
    assert sorted(events_of(db_session, story)) == sorted(
        [
            ("status", "todo", "in_progress", team.editor.id),
            ("points", "3", "5", team.editor.id),
            ("sprint", None, str(sprint.id), team.editor.id),
            ("stage", "modeling", "evaluation", team.editor.id),
            ("role", None, "ml_engineer", team.editor.id),
            ("assignee", None, str(team.editor.id), team.editor.id),
        ]
    )
    assert {e.at for e in events} == {T0 + timedelta(hours=2)}
    assert (story.version, story.title, story.points, story.sprint_id) == (
        2,
        "Renamed",
        5,
        sprint.id,
    )


def test_unchanged_values_write_nothing_and_keep_the_version(db_session, team):
    story = factories.story(db_session, team.project, team.editor, points=3, status="todo")
    ctx = load_context(db_session, team.project)
    events = update_story(
        db_session,
        ctx,
        story,
        {"points": 3, "status": "todo", "title": "A story"},
        by=team.editor,
        now=T0,
    )
    assert events == []
    assert story.version == 1
    assert events_of(db_session, story) == []


def test_an_edit_based_on_an_old_version_is_refused_and_says_who_changed_what(db_session, team):
    story = factories.story(db_session, team.project, team.editor)
    ctx = load_context(db_session, team.project)
    update_story(
        db_session, ctx, story, {"status": "in_progress"}, by=team.manager, now=T0, base_version=1
    )
    with pytest.raises(StaleVersionError) as refused:
        update_story(
            db_session,
            ctx,
            story,
            {"status": "done"},
            by=team.editor,
            now=T0 + timedelta(minutes=1),
            base_version=1,
        )
    message = refused.value.message
    assert "Maya Okafor moved this from To do to In progress" in message
    assert "version 1" in message and "version 2" in message
    assert story.status == "in_progress"
    assert len(events_of(db_session, story)) == 1


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"points": 4}, "points", "one of 0, 1, 2, 3, 5, 8, 13, 21"),
        ({"points": "lots"}, "points", "one of 0, 1, 2, 3, 5, 8, 13, 21"),
        ({"status": "blocked"}, "status", "Choose a status"),
        ({"type": "epic"}, "type", "Choose a type"),
        ({"stage": "labelling"}, "stage", "no stage 'labelling'"),
        ({"role": "wizard"}, "role", "not a functional role"),
        ({"assignee": "nobody@example.com"}, "assignee", "not a member of FRAUD"),
        ({"assignee": "helen@example.com"}, "assignee", "view access only"),
        ({"sprint": 9999}, "sprint", "has no sprint 9999"),
        ({"epic": "E42"}, "epic", "has no epic 'E42'"),
        ({"title": "   "}, "title", "Enter a title"),
        ({"title": "x" * 201}, "title", "Keep it to 200 characters"),
        ({"colour": "red"}, "colour", "not a field of a story"),
        ({"blocked": "yes"}, "blocked", "true or false"),
    ],
)
def test_invalid_values_are_refused_per_field_and_change_nothing(
    db_session, team, changes, field, fragment
):
    story = factories.story(db_session, team.project, team.editor, points=3)
    ctx = load_context(db_session, team.project)
    with pytest.raises(ValidationError) as refused:
        update_story(db_session, ctx, story, changes, by=team.editor, now=T0)
    assert fragment in refused.value.errors[field]
    assert (story.points, story.status, story.version) == (3, "todo", 1)
    assert events_of(db_session, story) == []


def test_a_story_of_another_project_cannot_use_this_projects_stage_or_sprint(db_session, team):
    other = factories.project(
        db_session, "CV", "Vision", owner=team.manager, stages=[("vision_only", "Vision only")]
    )
    sprint = factories.sprint(db_session, other, "CV Sprint", date(2026, 3, 2), date(2026, 3, 13))
    ctx = load_context(db_session, team.project)
    with pytest.raises(ValidationError) as refused:
        create_story(
            db_session,
            ctx,
            {"title": "x", "stage": "vision_only", "sprint": sprint.id},
            by=team.editor,
            now=T0,
        )
    assert set(refused.value.errors) == {"stage", "sprint"}
    assert db_session.scalar(select(func.count(Story.id))) == 0


def test_an_experiment_is_done_only_with_an_outcome(db_session, team):
    story = factories.story(
        db_session,
        team.project,
        team.editor,
        type="experiment",
        hypothesis="LightGBM beats logistic regression on PR-AUC",
    )
    assert story.outcome == "pending"
    ctx = load_context(db_session, team.project)
    with pytest.raises(ValidationError) as refused:
        update_story(db_session, ctx, story, {"status": "done"}, by=team.editor, now=T0)
    assert "outcome" in refused.value.errors
    assert story.status == "todo"
    # A refuted hypothesis is a finished experiment.
    update_story(
        db_session,
        ctx,
        story,
        {"status": "done", "outcome": "refuted", "result": "PR-AUC 0.61 vs 0.62"},
        by=team.editor,
        now=T0,
    )
    assert (story.status, story.outcome) == ("done", "refuted")
    assert events_of(db_session, story) == [("status", "todo", "done", team.editor.id)]


def test_a_closed_sprint_or_an_archived_stage_takes_no_new_stories(db_session, team):
    closed = factories.sprint(
        db_session,
        team.project,
        "Sprint 0",
        date(2026, 2, 16),
        date(2026, 2, 27),
        state="closed",
        started_at=T0 - timedelta(days=14),
        closed_at=T0 - timedelta(days=3),
    )
    ctx = load_context(db_session, team.project)
    ctx.stages["monitoring"].archived = True
    with pytest.raises(ValidationError) as refused:
        create_story(
            db_session,
            ctx,
            {"title": "late", "sprint": closed.id, "stage": "monitoring"},
            by=team.editor,
            now=T0,
        )
    assert "closed" in refused.value.errors["sprint"]
    assert "archived" in refused.value.errors["stage"]


def test_moving_to_the_backlog_records_the_sprint_it_left(db_session, team):
    sprint = factories.sprint(
        db_session, team.project, "Sprint 1", date(2026, 3, 2), date(2026, 3, 13)
    )
    story = factories.story(db_session, team.project, team.editor, sprint=sprint.id)
    ctx = load_context(db_session, team.project)
    update_story(db_session, ctx, story, {"sprint": ""}, by=team.manager, now=T0)
    assert story.sprint_id is None
    assert events_of(db_session, story) == [("sprint", str(sprint.id), None, team.manager.id)]


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("status", "done"),
        ("points", 8),
        ("role", "annotator"),
        ("sprint_id", "sprint"),
        ("assignee_id", "editor"),
        ("stage_id", "stage"),
    ],
)
def test_changing_a_tracked_field_without_an_event_is_refused(db_session, team, attribute, value):
    from planner.models.story import UnrecordedChangeError

    sprint = factories.sprint(db_session, team.project, "S", date(2026, 3, 2), date(2026, 3, 13))
    story = factories.story(db_session, team.project, team.editor, points=3)
    db_session.commit()
    concrete = {
        "sprint": sprint.id,
        "editor": team.editor.id,
        "stage": load_context(db_session, team.project).stages["modeling"].id,
    }.get(value, value)
    setattr(story, attribute, concrete)
    with pytest.raises(UnrecordedChangeError, match="without a StoryEvent"):
        db_session.flush()
    db_session.rollback()


def test_untracked_fields_change_freely(db_session, team):
    story = factories.story(db_session, team.project, team.editor)
    db_session.commit()
    story.title = "New title"
    story.rank = 99
    db_session.flush()


def test_history_reads_in_plain_words(db_session, team):
    from planner.domain.stories import describe_change

    sprint = factories.sprint(
        db_session, team.project, "Sprint 4", date(2026, 3, 2), date(2026, 3, 13)
    )
    ctx = load_context(db_session, team.project)
    editor, manager = str(team.editor.id), str(team.manager.id)
    assert describe_change(ctx, "assignee", None, editor, team.editor.id) == "took this"
    assert describe_change(ctx, "assignee", manager, editor, team.editor.id) == (
        "took this over from Maya Okafor"
    )
    assert describe_change(ctx, "assignee", None, editor, team.manager.id) == (
        "assigned this to Priya Raman"
    )
    assert (
        describe_change(ctx, "assignee", editor, None, team.manager.id) == "unassigned Priya Raman"
    )
    assert describe_change(ctx, "sprint", None, str(sprint.id)) == (
        "moved this from the backlog to Sprint 4"
    )
    assert (
        describe_change(ctx, "points", None, "1") == "re-estimated this from unestimated to 1 point"
    )
    assert describe_change(ctx, "stage", "modeling", "evaluation") == (
        "changed its stage from Modeling & training to Evaluation"
    )
    assert describe_change(ctx, "status", "review", "done") == "moved this from Review to Done"
