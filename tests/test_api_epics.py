"""Epics over the API: list with progress, create, change, archive, and delete only when no
story uses them."""

from __future__ import annotations

from tests.test_tokens import bearer, make_token


def test_epics_are_created_changed_archived_and_deleted(app, clients, story_one):
    api = app.test_client()
    token = bearer(make_token(clients["edit"]))
    made = api.post(
        "/api/v1/projects/FRAUD/epics",
        json={"title": "Fraud rules baseline", "stage": "modeling", "milestone": 1},
        headers=token,
    )
    assert made.status_code == 201
    assert (made.json["key"], made.json["stage"], made.json["milestone"]) == ("E2", "modeling", 1)
    assert made.json["progress"]["stories_total"] == 0
    # Two stories in it: 3 points done of 3 + 5 (the second unestimated counts as a story).
    for title, points, status in (("Rules from Ops", 3, "done"), ("Tune", None, "todo")):
        story = api.post(
            "/api/v1/projects/FRAUD/stories",
            json={"title": title, "points": points, "status": status, "epic": "E2"},
            headers=token,
        )
        assert story.status_code == 201, story.json
    progress = api.get("/api/v1/projects/FRAUD/epics/E2", headers=token).json["progress"]
    assert progress == {
        "points_done": 3,
        "points_total": 3,
        "stories_done": 1,
        "stories_total": 2,
        "unestimated": 1,
        "percent": 100,
    }
    changed = api.patch(
        "/api/v1/projects/FRAUD/epics/E2",
        json={"title": "Rules baseline", "archived": True, "milestone": None},
        headers=token,
    )
    assert changed.status_code == 200
    assert (changed.json["title"], changed.json["archived"], changed.json["milestone"]) == (
        "Rules baseline",
        True,
        None,
    )
    listed = api.get("/api/v1/projects/FRAUD/epics", headers=token).json["epics"]
    assert [(e["key"], e["archived"]) for e in listed] == [("E1", False), ("E2", True)]
    used = api.delete("/api/v1/projects/FRAUD/epics/E2", headers=token)
    assert used.status_code == 409 and "archive it instead" in used.json["error"]["message"]
    assert api.delete("/api/v1/projects/FRAUD/epics/E1", headers=token).status_code == 204
    assert api.get("/api/v1/projects/FRAUD/epics/E1", headers=token).status_code == 404


def test_epic_writes_say_what_is_wrong_and_respect_access(app, clients, story_one):
    api = app.test_client()
    token = bearer(make_token(clients["edit"]))
    bad = api.post(
        "/api/v1/projects/FRAUD/epics",
        json={"title": "x", "stage": "labelling", "milestone": 99},
        headers=token,
    )
    assert bad.status_code == 422
    assert set(bad.json["error"]["details"]) == {"stage", "milestone"}
    viewer = bearer(make_token(clients["view"]))
    assert (
        api.patch(
            "/api/v1/projects/FRAUD/epics/E1", json={"title": "y"}, headers=viewer
        ).status_code
        == 403
    )
    outsider = bearer(make_token(clients["none"]))
    assert api.get("/api/v1/projects/FRAUD/epics", headers=outsider).status_code == 404
