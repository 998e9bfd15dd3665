"""Sprints over the API: plan, rename, start (one at a time), close with a choice per unfinished
story; manage access only, as on the pages."""

from __future__ import annotations

from sqlalchemy import select

from planner.models import Sprint, Story
from tests.test_tokens import bearer, make_token


def test_a_manager_plans_starts_and_closes_sprints_with_a_token(
    app, clients, db_session, story_one
):
    api = app.test_client()
    token = bearer(make_token(clients["manage"]))
    made = api.post(
        "/api/v1/projects/FRAUD/sprints",
        json={"name": "Sprint 3", "start": "2026-03-30", "end": "2026-04-10", "goal": "Ship"},
        headers=token,
    )
    assert made.status_code == 201
    assert (made.json["name"], made.json["state"], made.json["start"]) == (
        "Sprint 3",
        "planned",
        "2026-03-30",
    )
    renamed = api.patch(
        f"/api/v1/sprints/{made.json['id']}", json={"name": "Sprint 3b"}, headers=token
    )
    assert renamed.status_code == 200 and renamed.json["name"] == "Sprint 3b"

    second = api.post(
        "/api/v1/projects/FRAUD/stories",
        json={"title": "Freeze the split", "points": 5, "sprint": 1},
        headers=token,
    )
    assert second.status_code == 201 and second.json["key"] == "FRAUD-2"
    done = api.patch(
        "/api/v1/stories/FRAUD-2", json={"version": 1, "status": "done"}, headers=token
    )
    assert done.status_code == 200

    # One sprint at a time: Sprint 2 cannot start while Sprint 1 runs.
    early = api.post("/api/v1/sprints/2/start", headers=token)
    assert early.status_code == 409
    assert "Sprint 1 is still active" in early.json["error"]["message"]

    closed = api.post(
        "/api/v1/sprints/1/close", json={"stories": {"FRAUD-1": "backlog"}}, headers=token
    )
    assert closed.status_code == 200, closed.json
    assert closed.json["sprint"]["state"] == "closed"
    assert (closed.json["to_next"], closed.json["to_backlog"]) == ([], ["FRAUD-1"])
    assert closed.json["next_sprint"] is None
    db_session.expire_all()
    assert db_session.scalar(select(Story.sprint_id).where(Story.number == 1)) is None
    assert db_session.scalar(select(Story.sprint_id).where(Story.number == 2)) == 1
    again = api.post("/api/v1/sprints/1/close", json={}, headers=token)
    assert again.status_code == 409 and "only the active sprint" in again.json["error"]["message"]
    assert api.get("/api/v1/sprints/1/burndown", headers=token).status_code == 200

    started = api.post("/api/v1/sprints/2/start", headers=token)
    assert started.status_code == 200 and started.json["state"] == "active"
    assert db_session.get(Sprint, 2).started_at is not None


def test_closing_carries_unfinished_stories_to_the_next_sprint_by_default(
    app, clients, db_session, story_one
):
    api = app.test_client()
    token = bearer(make_token(clients["manage"]))
    closed = api.post("/api/v1/sprints/1/close", json={}, headers=token)
    assert closed.status_code == 200
    assert closed.json["to_next"] == ["FRAUD-1"]
    assert closed.json["next_sprint"]["name"] == "Sprint 2"  # the planned one, not a new one
    db_session.expire_all()
    assert db_session.scalar(select(Story.sprint_id).where(Story.number == 1)) == 2


def test_sprint_writes_need_manage_access_and_say_what_is_wrong(app, clients, story_one):
    api = app.test_client()
    editor = bearer(make_token(clients["edit"]))
    assert api.post("/api/v1/sprints/2/start", headers=editor).status_code == 403
    reader = bearer(make_token(clients["manage"], scope="read", name="reader"))
    assert api.post("/api/v1/sprints/1/close", json={}, headers=reader).status_code == 403
    outsider = bearer(make_token(clients["none"]))
    assert api.post("/api/v1/sprints/1/close", json={}, headers=outsider).status_code == 404
    manager = bearer(make_token(clients["manage"], name="manager"))
    backwards = api.post(
        "/api/v1/projects/FRAUD/sprints",
        json={"name": "Sprint 9", "start": "2026-05-10", "end": "2026-05-01"},
        headers=manager,
    )
    assert backwards.status_code == 422 and "end" in backwards.json["error"]["details"]
    stranger = api.post(
        "/api/v1/sprints/1/close", json={"stories": {"FRAUD-99": "next"}}, headers=manager
    )
    assert stranger.status_code == 422
    assert stranger.json["error"]["details"] == {
        "stories": "'FRAUD-99' is not a story of this sprint."
    }
    wrong = api.post(
        "/api/v1/sprints/1/close", json={"stories": {"FRAUD-1": "later"}}, headers=manager
    )
    assert wrong.status_code == 422
    assert wrong.json["error"]["details"] == {"stories": "Choose one of: 'next' or 'backlog'."}
