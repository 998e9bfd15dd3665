"""The story page of a view member (a stakeholder): a clean read-only page with values in words,
the description rendered, the history in words and the comment form; no story form fields, no
version number; every write still refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from planner.domain.context import load_context
from planner.domain.stories import update_story
from planner.models import Comment, Story
from tests import factories


@pytest.fixture
def experiment(db_session, team, story_one):
    """FRAUD-2: an experiment in Sprint 1 and epic E1, assigned to Priya, 5 points, with a
    Markdown description, then re-titled and started by Priya."""
    ctx = load_context(db_session, team.project)
    sprint_id = next(s.id for s in ctx.sprints.values() if s.name == "Sprint 1")
    story = factories.story(
        db_session,
        team.project,
        team.editor,
        title="Merchant embeddings",
        type="experiment",
        description="Compare **bold** ideas.\n\n- first\n- second\n\n<script>x()</script>",
        hypothesis="Merchant-category embeddings add 2 points of PR-AUC",
        metric="PR-AUC on the 2026-02 hold-out",
        target="+0.02",
        points=5,
        stage="modeling",
        role="data_scientist",
        assignee=team.editor.id,
        sprint=sprint_id,
        epic="E1",
    )
    update_story(
        db_session,
        ctx,
        story,
        {"title": "Merchant-category embeddings", "status": "in_progress"},
        by=team.editor,
        now=datetime(2026, 3, 3, 10, tzinfo=UTC),
    )
    db_session.commit()
    return story


def test_a_view_member_reads_a_clean_page(clients, experiment):
    response = clients["view"].get("/projects/FRAUD/stories/2")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    main = page[page.index("<main") :]
    # No form fields of the story: the only text box is the comment's.
    assert re.findall(r"<textarea[^>]*>", main) == [
        re.search(r'<textarea id="comment-body"[^>]*>', main).group(0)
    ]
    assert 'name="title"' not in main and 'name="description"' not in main
    assert "<select" not in main and "disabled" not in main
    assert "version" not in main.lower()
    assert ">Save<" not in main
    # Values in words.
    assert "<h1>Merchant-category embeddings</h1>" in main
    assert "FRAUD-2" in main
    for label, value in (
        ("Status", "In progress"),
        ("Stage", "Modeling &amp; training"),
        ("Role", "Data scientist"),
        ("Points", "5"),
        ("Assignee", "Priya Raman"),
        ("Sprint", "Sprint 1"),
        ("Epic", "E1 · Gold-label set"),
    ):
        assert f"<dt>{label}</dt><dd>{value}</dd>" in main, label
    # The description is rendered Markdown; raw HTML in it is shown, never run.
    assert "<strong>bold</strong>" in main
    assert "<li>first</li>" in main
    assert "<script>x()" not in main and "&lt;script&gt;x()&lt;/script&gt;" in main
    # The experiment's fields.
    assert "<dt>Hypothesis</dt>" in main
    assert "Merchant-category embeddings add 2 points of PR-AUC" in main
    assert "<dt>Target</dt><dd>+0.02</dd>" in main
    assert '<span class="chip outcome-pending">Pending</span>' in main
    # The history in words, the title edit as from -> to.
    assert "moved this from To do to In progress" in main
    assert "<del>Merchant embeddings</del> → <ins>Merchant-category embeddings</ins>" in main
    # Comments stay open to stakeholders.
    assert 'action="/projects/FRAUD/stories/2/comments"' in main
    assert "Ask the team a question" in main


def test_members_who_edit_keep_the_form(clients, experiment):
    for level in ("edit", "manage"):
        page = clients[level].get("/projects/FRAUD/stories/2").get_data(as_text=True)
        assert re.search(r'<input[^>]*name="title"', page), level
        assert re.search(r'<textarea[^>]*name="description"', page), level
        assert ">Save<" in page


def test_a_view_member_still_cannot_write(clients, db_session, experiment):
    viewer = clients["view"]
    refused = viewer.post_form("/projects/FRAUD/stories/2", {"version": "2", "title": "Mine now"})
    assert refused.status_code == 403
    patched = viewer.api("PATCH", "/api/v1/stories/FRAUD-2", {"version": 2, "title": "Mine now"})
    assert patched.status_code == 403
    labels = viewer.post_form("/projects/FRAUD/stories/2/labels", {"labels": "mine"})
    assert labels.status_code == 403
    db_session.expire_all()
    story = db_session.scalar(select(Story).where(Story.number == 2))
    assert (story.title, story.version) == ("Merchant-category embeddings", 2)
    # A comment is the write a stakeholder may make.
    asked = viewer.post_form("/projects/FRAUD/stories/2/comments", {"body": "When is it done?"})
    assert asked.status_code == 302
    assert db_session.scalar(select(func.count(Comment.id))) == 1
    page = viewer.get("/projects/FRAUD/stories/2").get_data(as_text=True)
    assert "When is it done?" in page


def test_a_feature_without_experiment_fields_shows_no_experiment_section(
    clients, db_session, team, story_one
):
    page = clients["view"].get("/projects/FRAUD/stories/1").get_data(as_text=True)
    assert "<h1>Original</h1>" in page
    assert 'id="experiment-title"' not in page
    assert "No description yet." in page
    assert '<dt>Assignee</dt><dd><span class="muted">Nobody yet</span></dd>' in page


def test_the_read_only_page_runs_a_bounded_number_of_queries(
    clients, db_session, team, experiment, count_queries
):
    client = clients["view"]
    client.get("/projects/FRAUD/stories/2")
    with count_queries() as few:
        client.get("/projects/FRAUD/stories/2")
    ctx = load_context(db_session, team.project)
    story = db_session.scalar(select(Story).where(Story.number == 2))
    for n in range(12):
        update_story(
            db_session,
            ctx,
            story,
            {"title": f"Title {n}", "description": f"Text {n}", "points": [1, 2][n % 2]},
            by=team.editor,
            now=datetime(2026, 3, 4, 9, n, tzinfo=UTC),
        )
    db_session.commit()
    with count_queries() as many:
        page = client.get("/projects/FRAUD/stories/2").get_data(as_text=True)
    assert "<del>Title 10</del> → <ins>Title 11</ins>" in page
    assert many.count == few.count
