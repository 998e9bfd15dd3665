"""A done story of a closed sprint that is reopened goes to the top of the backlog, where the team
sees it, at that moment; the closed sprint's chart does not change; the page says where it went."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from planner.domain.context import load_context
from planner.domain.history import load_series
from planner.domain.stories import update_story
from planner.models import StoryEvent
from tests import factories

STARTED = datetime(2026, 3, 2, 8, tzinfo=UTC)
CLOSED = datetime(2026, 3, 13, 17, tzinfo=UTC)
LATER = datetime(2026, 3, 20, 10, tzinfo=UTC)


def closed_sprint_with_a_done_story(db_session, team):
    """Sprint 1 (2-13 Mar, closed): FRAUD-1 (3 points) in it from the start, done on 5 Mar.
    FRAUD-2 sits in the backlog (rank set by creation)."""
    sprint = factories.sprint(
        db_session,
        team.project,
        "Sprint 1",
        date(2026, 3, 2),
        date(2026, 3, 13),
        state="active",
        started_at=STARTED,
    )
    other = factories.story(
        db_session,
        team.project,
        team.editor,
        title="Backlog story",
        now=datetime(2026, 3, 1, tzinfo=UTC),
    )
    story = factories.story(
        db_session,
        team.project,
        team.editor,
        title="Labels v2",
        points=3,
        sprint=sprint.id,
        now=datetime(2026, 3, 1, tzinfo=UTC),
    )
    ctx = load_context(db_session, team.project)
    update_story(
        db_session,
        ctx,
        story,
        {"status": "done"},
        by=team.editor,
        now=datetime(2026, 3, 5, 12, tzinfo=UTC),
    )
    sprint.state, sprint.closed_at = "closed", CLOSED
    db_session.commit()
    return sprint, story, other


def test_reopening_moves_the_story_to_the_top_of_the_backlog(db_session, team):
    sprint, story, other = closed_sprint_with_a_done_story(db_session, team)
    before = load_series(db_session, team.project, [sprint], now=LATER)[sprint.id]
    ctx = load_context(db_session, team.project)
    events = update_story(
        db_session, ctx, story, {"status": "in_progress"}, by=team.editor, now=LATER
    )
    db_session.commit()
    assert (story.status, story.sprint_id) == ("in_progress", None)
    assert story.rank < other.rank  # above everything in the backlog
    assert sorted((e.field, e.from_value, e.to_value) for e in events) == [
        ("sprint", str(sprint.id), None),
        ("status", "done", "in_progress"),
    ]
    after = load_series(db_session, team.project, [sprint], now=LATER)[sprint.id]
    # Committed 3, completed 3 before and after: the move came after the close.
    assert (before.committed.scope_points, before.final.done_points) == (3, 3)
    assert (after.committed.scope_points, after.final.done_points) == (3, 3)


def test_done_stays_in_its_sprint_and_other_edits_move_nothing(db_session, team):
    sprint, story, _ = closed_sprint_with_a_done_story(db_session, team)
    ctx = load_context(db_session, team.project)
    update_story(
        db_session,
        ctx,
        story,
        {"title": "Labels v2.1", "sprint": sprint.id},
        by=team.editor,
        now=LATER,
    )
    db_session.commit()
    assert (story.status, story.sprint_id, story.title) == ("done", sprint.id, "Labels v2.1")


def test_the_story_page_says_where_the_reopened_story_went(db_session, team, clients):
    sprint, story, _ = closed_sprint_with_a_done_story(db_session, team)
    page = clients["edit"].get(f"/projects/FRAUD/stories/{story.number}").get_data(as_text=True)
    version = story.version
    # The form sends every field, the closed sprint included, as the page shows it.
    answer = clients["edit"].post_form(
        f"/projects/FRAUD/stories/{story.number}",
        {
            "title": "Labels v2",
            "type": "feature",
            "status": "todo",
            "points": "3",
            "sprint": str(sprint.id),
            "version": str(version),
        },
    )
    assert answer.status_code == 302
    page = clients["edit"].get(answer.headers["Location"]).get_data(as_text=True)
    assert (
        f"FRAUD-{story.number} saved. Sprint 1 is closed, so FRAUD-{story.number} is back at "
        "the top of the backlog." in page
    )
    backlog = clients["edit"].get("/projects/FRAUD/backlog").get_data(as_text=True)
    assert "Labels v2" in backlog
    moved = db_session.scalars(
        select(StoryEvent).where(StoryEvent.story_id == story.id, StoryEvent.field == "sprint")
    ).all()
    assert [(e.from_value, e.to_value) for e in moved] == [(str(sprint.id), None)]
