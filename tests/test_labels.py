"""Labels on a story: set from the story page by edit members, created on first use, refused
with a message when they cannot be labels, and never part of the history."""

from __future__ import annotations

from sqlalchemy import func, select

from planner.models import Label, StoryEvent, story_label


def names(db_session, story) -> list[str]:
    db_session.expire_all()
    return db_session.scalars(
        select(Label.name)
        .join(story_label, story_label.c.label_id == Label.id)
        .where(story_label.c.story_id == story.id)
        .order_by(Label.name)
    ).all()


def test_an_editor_sets_and_changes_labels(db_session, team, clients, story_one):
    url = "/projects/FRAUD/stories/1/labels"
    answer = clients["edit"].post_form(url, {"labels": " gdpr ,needs   data, gdpr,, "})
    assert answer.status_code == 302
    assert names(db_session, story_one) == ["gdpr", "needs data"]
    page = clients["edit"].get("/projects/FRAUD/stories/1").get_data(as_text=True)
    assert '<span class="chip label">gdpr</span>' in page
    assert "FRAUD-1: labels saved." in page
    clients["edit"].post_form(url, {"labels": "needs data"})
    assert names(db_session, story_one) == ["needs data"]
    # The project keeps the label it no longer uses; no history event was written.
    assert db_session.scalar(select(func.count(Label.id))) == 2
    assert db_session.scalar(select(func.count(StoryEvent.id))) == 0


def test_bad_labels_are_refused_and_change_nothing(db_session, team, clients, story_one):
    url = "/projects/FRAUD/stories/1/labels"
    clients["edit"].post_form(url, {"labels": "gdpr"})
    answer = clients["edit"].post_form(url, {"labels": "ok, " + "x" * 61})
    assert answer.status_code == 302
    page = clients["edit"].get("/projects/FRAUD/stories/1").get_data(as_text=True)
    assert (
        "FRAUD-1: labels not saved. “xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx”: Keep it to 60 characters"
        in page
    )
    many = ", ".join(f"l{n}" for n in range(21))
    clients["edit"].post_form(url, {"labels": many})
    page = clients["edit"].get("/projects/FRAUD/stories/1").get_data(as_text=True)
    assert "21 labels; a story has at most 20." in page
    assert names(db_session, story_one) == ["gdpr"]


def test_who_may_set_labels(db_session, team, clients, story_one):
    url = "/projects/FRAUD/stories/1/labels"
    assert clients["view"].post_form(url, {"labels": "x"}).status_code == 403
    assert clients["none"].post_form(url, {"labels": "x"}).status_code == 404
    assert clients["edit"].post(url, data={"labels": "x"}).status_code in (400, 302)
    assert names(db_session, story_one) == []
    assert (
        clients["edit"].post_form("/projects/FRAUD/stories/99/labels", {"labels": "x"}).status_code
        == 404
    )
