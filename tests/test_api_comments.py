"""Comments and history over the API: stakeholders read them, team members write, only the author
or a manager deletes."""

from __future__ import annotations

from sqlalchemy import func, select

from planner.models import Comment
from tests.test_tokens import bearer, make_token


def test_comments_are_added_listed_and_deleted_by_their_author(app, clients, db_session, story_one):
    api = app.test_client()
    priya = bearer(make_token(clients["edit"]))
    added = api.post(
        "/api/v1/stories/FRAUD-1/comments",
        json={"body": "Kappa is **0.81** on batch 2"},
        headers=priya,
    )
    assert added.status_code == 201
    assert (added.json["author"], added.json["author_name"], added.json["body"]) == (
        "priya@example.com",
        "Priya Raman",
        "Kappa is **0.81** on batch 2",
    )
    helen = bearer(make_token(clients["view"]))
    listed = api.get("/api/v1/stories/FRAUD-1/comments", headers=helen)
    assert [c["body"] for c in listed.json["comments"]] == ["Kappa is **0.81** on batch 2"]
    # A stakeholder asks in a comment (view access may comment), but not with a read token;
    # nobody but the author or a manager deletes.
    asked = api.post("/api/v1/stories/FRAUD-1/comments", json={"body": "Next?"}, headers=helen)
    assert asked.status_code == 201 and asked.json["author"] == "helen@example.com"
    helen_read = bearer(make_token(clients["view"], name="dashboards", scope="read"))
    refused = api.post("/api/v1/stories/FRAUD-1/comments", json={"body": "x"}, headers=helen_read)
    assert refused.status_code == 403
    url = f"/api/v1/stories/FRAUD-1/comments/{added.json['id']}"
    maya_token = bearer(make_token(clients["manage"]))
    other = db_session.scalar(select(func.max(Comment.id)))
    assert (
        api.delete(f"/api/v1/stories/FRAUD-1/comments/{other + 1}", headers=priya).status_code
        == 404
    )
    empty = api.post("/api/v1/stories/FRAUD-1/comments", json={"body": "  "}, headers=priya)
    assert empty.status_code == 422 and empty.json["error"]["details"] == {
        "body": "Write something first."
    }
    assert api.delete(url, headers=priya).status_code == 204
    assert db_session.scalar(select(Comment.body)) == "Next?"  # Helen's stays
    assert api.delete(url, headers=maya_token).status_code == 404  # gone


def test_only_the_author_or_a_manager_deletes_a_comment(app, clients, db_session, story_one):
    api = app.test_client()
    priya = bearer(make_token(clients["edit"]))
    added = api.post("/api/v1/stories/FRAUD-1/comments", json={"body": "mine"}, headers=priya)
    url = f"/api/v1/stories/FRAUD-1/comments/{added.json['id']}"
    helen = bearer(make_token(clients["view"]))
    assert api.delete(url, headers=helen).status_code == 403
    maya = bearer(make_token(clients["manage"]))
    assert api.delete(url, headers=maya).status_code == 204


def test_the_history_lists_every_recorded_change(app, clients, story_one):
    api = app.test_client()
    token = bearer(make_token(clients["edit"]))
    moved = api.patch(
        "/api/v1/stories/FRAUD-1",
        json={"version": 1, "status": "in_progress", "points": 5},
        headers=token,
    )
    assert moved.status_code == 200
    history = api.get("/api/v1/stories/FRAUD-1/history", headers=token).json["history"]
    changes = [(e["field"], e["from"], e["to"], e["by"]) for e in history[-2:]]
    assert sorted(changes) == [
        ("points", 3, 5, "priya@example.com"),
        ("status", "todo", "in_progress", "priya@example.com"),
    ]
    outsider = bearer(make_token(clients["none"]))
    assert api.get("/api/v1/stories/FRAUD-1/history", headers=outsider).status_code == 404
