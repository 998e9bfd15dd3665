"""Saved views: managers save the Stories list's filter under a name for the whole project;
everyone in the project sees them as links; managers delete them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from planner.domain.labels import set_labels
from planner.models import SavedView
from tests import factories


@pytest.fixture
def labelled(db_session, team):
    story = factories.story(db_session, team.project, team.editor, title="Consent audit")
    set_labels(db_session, story, ["gdpr"])
    db_session.commit()
    return story


def views(db_session) -> list[tuple[str, str]]:
    db_session.expire_all()
    return [(v.name, v.query) for v in db_session.scalars(select(SavedView).order_by(SavedView.id))]


def test_a_manager_saves_the_filter_normalised(clients, db_session, labelled, team):
    response = clients["manage"].post_form(
        "/projects/FRAUD/views",
        {
            "name": "  My GDPR   work ",
            "query": "q=consent&label=GDPR&bogus=1&stage=nope&assignee=me",
        },
    )
    assert response.status_code == 302
    # known filters only, valid values only, in one order; the label spelt as the project does
    assert response.headers["Location"] == "/projects/FRAUD?assignee=me&label=gdpr&q=consent"
    assert views(db_session) == [("My GDPR work", "assignee=me&label=gdpr&q=consent")]
    row = db_session.scalar(select(SavedView))
    assert row.created_by_id == team.manager.id and row.project_id == team.project.id
    page = clients["manage"].get(response.headers["Location"]).get_data(as_text=True)
    assert "View “My GDPR work” saved; everyone in FRAUD sees it." in page
    assert (
        '<a href="/projects/FRAUD?assignee=me&amp;label=gdpr&amp;q=consent" class="view-link"'
        ' aria-current="page">My GDPR work</a>' in page
    )


def test_everyone_in_the_project_sees_the_views_but_only_managers_may_change_them(
    clients, db_session, labelled, team
):
    db_session.add(SavedView(project_id=team.project.id, name="Needs data", query="label=gdpr"))
    db_session.commit()
    for level in ("view", "edit"):
        page = clients[level].get("/projects/FRAUD").get_data(as_text=True)
        assert '<a href="/projects/FRAUD?label=gdpr" class="view-link">Needs data</a>' in page
        assert "Save this filter as a view" not in page
        assert "Delete the view" not in page
    manager_page = clients["manage"].get("/projects/FRAUD").get_data(as_text=True)
    assert "Save this filter as a view" in manager_page
    assert 'aria-label="Delete the view Needs data"' in manager_page


@pytest.mark.parametrize(("level", "status"), [("view", 403), ("edit", 403), ("none", 404)])
def test_only_managers_save_and_delete(clients, db_session, team, level, status):
    db_session.add(SavedView(project_id=team.project.id, name="Kept", query="type=bug"))
    db_session.commit()
    view_id = db_session.scalar(select(SavedView.id))
    client = clients[level]
    assert (
        client.post_form("/projects/FRAUD/views", {"name": "X", "query": ""}).status_code == status
    )
    assert client.post_form(f"/projects/FRAUD/views/{view_id}/delete").status_code == status
    assert views(db_session) == [("Kept", "type=bug")]
    assert clients["none"].get("/projects/FRAUD").status_code == 404


def test_writes_need_the_csrf_token(clients, db_session, team):
    db_session.add(SavedView(project_id=team.project.id, name="Kept", query="type=bug"))
    db_session.commit()
    view_id = db_session.scalar(select(SavedView.id))
    client = clients["manage"]
    assert client.post("/projects/FRAUD/views", data={"name": "X"}).status_code == 400
    assert client.post(f"/projects/FRAUD/views/{view_id}/delete").status_code == 400
    assert views(db_session) == [("Kept", "type=bug")]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("   ", "Give the view a name."),
        ("x" * 61, "61"),  # says how long it is
        ("Bugs", "There is already a view named “Bugs”; pick another."),
    ],
)
def test_bad_names_are_refused_with_a_message(clients, db_session, team, name, message):
    db_session.add(SavedView(project_id=team.project.id, name="Bugs", query="type=bug"))
    db_session.commit()
    client = clients["manage"]
    response = client.post_form("/projects/FRAUD/views", {"name": name, "query": "type=spike"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/projects/FRAUD?type=spike"  # back to the filter
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "View not saved: " in page and message in page
    assert views(db_session) == [("Bugs", "type=bug")]


def test_a_sixty_character_name_is_fine_and_names_are_per_project(clients, db_session, team):
    other = factories.project(db_session, "CHURN", "Churn", owner=team.manager)
    db_session.add(SavedView(project_id=other.id, name="Bugs", query="type=bug"))
    db_session.commit()
    client = clients["manage"]
    client.post_form("/projects/FRAUD/views", {"name": "Bugs", "query": "type=bug"})
    client.post_form("/projects/FRAUD/views", {"name": "y" * 60, "query": ""})
    assert views(db_session) == [("Bugs", "type=bug"), ("Bugs", "type=bug"), ("y" * 60, "")]


def test_a_manager_deletes_a_view_of_their_project_only(clients, db_session, team):
    other = factories.project(db_session, "CHURN", "Churn", owner=team.manager)
    db_session.add(SavedView(project_id=team.project.id, name="Mine", query="assignee=me"))
    db_session.add(SavedView(project_id=other.id, name="Theirs", query=""))
    db_session.commit()
    ids = dict(db_session.execute(select(SavedView.name, SavedView.id)).all())
    client = clients["manage"]
    assert client.post_form(f"/projects/FRAUD/views/{ids['Theirs']}/delete").status_code == 404
    response = client.post_form(f"/projects/FRAUD/views/{ids['Mine']}/delete")
    assert response.headers["Location"] == "/projects/FRAUD"
    assert "View “Mine” deleted." in client.get("/projects/FRAUD").get_data(as_text=True)
    assert views(db_session) == [("Theirs", "")]
    assert db_session.scalar(select(func.count(SavedView.id))) == 1
