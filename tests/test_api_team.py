"""A project's settings, calendar, members and stages over the API, and making a project."""

from __future__ import annotations

from tests import factories
from tests.test_tokens import bearer, make_token


def test_a_project_is_made_and_its_settings_and_calendar_changed(app, clients, db_session, team):
    api = app.test_client()
    maya = bearer(make_token(clients["manage"]))
    made = api.post(
        "/api/v1/projects",
        json={
            "key": "CHURN",
            "name": "Churn model",
            "timezone": "Europe/Berlin",
            "working_days": [1, 2, 3, 4],
            "holidays": ["2026-12-24", "2026-12-25"],
        },
        headers=maya,
    )
    assert made.status_code == 201, made.json
    assert (made.json["key"], made.json["access"], made.json["working_days"]) == (
        "CHURN",
        "manage",
        [1, 2, 3, 4],
    )
    assert made.json["holidays"] == ["2026-12-24", "2026-12-25"]
    assert [s["key"] for s in made.json["stages"]][:2] == ["problem_framing", "data_collection"]
    changed = api.patch(
        "/api/v1/projects/CHURN",
        json={"sprint_length_days": 10, "holidays": ["2026-12-31"], "description": "Q1"},
        headers=maya,
    )
    assert changed.status_code == 200
    assert (changed.json["sprint_length_days"], changed.json["holidays"]) == (10, ["2026-12-31"])
    bad = api.patch(
        "/api/v1/projects/CHURN",
        json={"timezone": "localtime", "working_days": [8], "holidays": ["someday"]},
        headers=maya,
    )
    assert bad.status_code == 422
    assert set(bad.json["error"]["details"]) == {"holidays"}  # the calendar is read first
    bad = api.patch(
        "/api/v1/projects/CHURN", json={"timezone": "localtime", "working_days": [8]}, headers=maya
    )
    assert set(bad.json["error"]["details"]) == {"timezone", "working_days"}
    taken = api.post("/api/v1/projects", json={"key": "CHURN", "name": "Again"}, headers=maya)
    assert taken.status_code == 409
    reader = bearer(make_token(clients["manage"], scope="read", name="reader"))
    refused = api.post("/api/v1/projects", json={"key": "NEW", "name": "x"}, headers=reader)
    assert refused.status_code == 403


def test_members_are_added_changed_and_removed_and_a_manager_always_stays(
    app, clients, db_session, team
):
    api = app.test_client()
    maya = bearer(make_token(clients["manage"]))
    factories.account(db_session, "sam@example.com", "Sam Lee")
    other = factories.project(db_session, "OPS", "Ops", owner=team.manager)
    db_session.commit()
    sam_in_ops = api.post(
        "/api/v1/projects/OPS/members",
        json={"email": "sam@example.com", "access": "edit", "roles": ["ml_engineer"]},
        headers=maya,
    )
    # Maya manages OPS but Sam works on none of her projects, and she is no site admin.
    assert sam_in_ops.status_code == 409
    assert (
        "managers add people who already work on another project"
        in (sam_in_ops.json["error"]["message"])
    )
    assert other.key == "OPS"
    added = api.post(
        "/api/v1/projects/OPS/members",
        json={"email": "priya@example.com", "access": "edit", "roles": ["data_scientist"]},
        headers=maya,
    )
    assert added.status_code == 201, added.json
    assert (added.json["access"], added.json["roles"]) == ("edit", ["data_scientist"])
    changed = api.patch(
        "/api/v1/projects/OPS/members/priya@example.com",
        json={"access": "manage"},
        headers=maya,
    )
    assert changed.status_code == 200 and changed.json["roles"] == ["data_scientist"]
    listed = api.get("/api/v1/projects/OPS/members", headers=maya).json["members"]
    assert sorted((m["email"], m["access"]) for m in listed) == [
        ("maya@example.com", "manage"),
        ("priya@example.com", "manage"),
    ]
    assert (
        api.delete("/api/v1/projects/OPS/members/priya@example.com", headers=maya).status_code
        == 204
    )
    last = api.patch(
        "/api/v1/projects/OPS/members/maya@example.com", json={"access": "view"}, headers=maya
    )
    assert last.status_code == 409
    assert "at least one member with manage access" in last.json["error"]["message"]
    assert (
        api.delete("/api/v1/projects/OPS/members/nobody@example.com", headers=maya).status_code
        == 404
    )


def test_stages_are_added_renamed_archived_and_reordered(app, clients, team):
    api = app.test_client()
    maya = bearer(make_token(clients["manage"]))
    added = api.post(
        "/api/v1/projects/FRAUD/stages",
        json={"key": "safety_review", "name": "Safety review"},
        headers=maya,
    )
    assert added.status_code == 201
    assert added.json["stages"][-1] == {
        "key": "safety_review",
        "name": "Safety review",
        "archived": False,
    }
    renamed = api.patch(
        "/api/v1/projects/FRAUD/stages/safety_review",
        json={"name": "Model risk review", "archived": True},
        headers=maya,
    )
    assert renamed.json["stages"][-1] == {
        "key": "safety_review",
        "name": "Model risk review",
        "archived": True,
    }
    keys = [s["key"] for s in renamed.json["stages"]]
    order = [keys[-1], *keys[:-1]]
    moved = api.post("/api/v1/projects/FRAUD/stages/order", json={"keys": order}, headers=maya)
    assert moved.status_code == 200 and [s["key"] for s in moved.json["stages"]] == order
    bad = api.post(
        "/api/v1/projects/FRAUD/stages", json={"key": "Bad Key", "name": "x"}, headers=maya
    )
    assert bad.status_code == 422 and "key" in bad.json["error"]["details"]
    priya = bearer(make_token(clients["edit"]))
    assert (
        api.post(
            "/api/v1/projects/FRAUD/stages", json={"key": "x", "name": "x"}, headers=priya
        ).status_code
        == 403
    )
