"""The JSON API: 401 when signed out, the story with its version and history, PATCH with
optimistic locking (200 / 409 / 422 / 403 / 404), and JSON errors everywhere under /api/."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from planner.models import Story, StoryEvent
from tests import factories


@pytest.fixture
def story(db_session, team):
    sprint = factories.sprint(
        db_session, team.project, "Sprint 7", date(2026, 3, 2), date(2026, 3, 13)
    )
    row = factories.story(
        db_session,
        team.project,
        team.editor,
        title="Train baseline",
        points=3,
        stage="modeling",
        role="ml_engineer",
        sprint=sprint.id,
    )
    db_session.commit()
    return row


def test_signed_out_api_calls_get_401_json_not_a_redirect(client, team):
    for url in ("/api/v1/me", "/api/v1/projects", "/api/v1/stories/FRAUD-1"):
        response = client.get(url)
        assert response.status_code == 401
        assert response.json["error"]["code"] == "unauthorized"


def test_projects_lists_my_projects_with_my_access(clients, team):
    body = clients["view"].get("/api/v1/projects").json
    assert body == {
        "projects": [
            {
                "key": "FRAUD",
                "name": "Card fraud detection",
                "description": None,
                "timezone": "UTC",
                "working_days": [1, 2, 3, 4, 5],
                "sprint_length_days": 14,
                "slip_tolerance_days": 7,
                "access": "view",
                "roles": ["stakeholder"],
            }
        ]
    }
    assert clients["none"].get("/api/v1/projects").json == {"projects": []}


def test_get_story_returns_version_and_history(clients, story, team):
    clients["edit"].api("PATCH", "/api/v1/stories/FRAUD-1", {"version": 1, "status": "in_progress"})
    body = clients["view"].get("/api/v1/stories/FRAUD-1").json
    assert body["key"] == "FRAUD-1"
    assert (body["version"], body["status"], body["points"], body["stage"]) == (
        2,
        "in_progress",
        3,
        "modeling",
    )
    assert (body["sprint"], body["sprint_name"]) == (story.sprint_id, "Sprint 7")
    assert body["history"] == [
        {
            "at": body["updated_at"],
            "field": "status",
            "from": "todo",
            "to": "in_progress",
            "by": "priya@example.com",
        }
    ]
    assert body["updated_at"].endswith("Z")


def test_patch_applies_changes_and_answers_the_new_version(clients, db_session, story, team):
    response = clients["edit"].api(
        "PATCH",
        "/api/v1/stories/FRAUD-1",
        {
            "version": 1,
            "status": "review",
            "points": 5,
            "assignee": "priya@example.com",
            "sprint": None,
            "title": "Train the baseline",
        },
    )
    assert response.status_code == 200
    body = response.json
    assert (body["version"], body["status"], body["points"], body["sprint"]) == (
        2,
        "review",
        5,
        None,
    )
    assert body["assignee"] == "priya@example.com" and body["assignee_name"] == "Priya Raman"
    assert {(e["field"], e["from"], e["to"]) for e in body["history"]} == {
        ("status", "todo", "review"),
        ("points", 3, 5),
        ("assignee", None, "priya@example.com"),
        ("sprint", story.sprint_id, None),
    }
    assert db_session.scalar(select(func.count(StoryEvent.id))) == 4


def test_a_stale_patch_gets_409_with_the_current_story_and_changes_nothing(
    clients, db_session, story
):
    assert (
        clients["manage"]
        .api("PATCH", "/api/v1/stories/FRAUD-1", {"version": 1, "status": "done"})
        .status_code
        == 200
    )
    response = clients["edit"].api(
        "PATCH", "/api/v1/stories/FRAUD-1", {"version": 1, "status": "review"}
    )
    assert response.status_code == 409
    error = response.json["error"]
    assert error["code"] == "stale_version"
    assert "Maya Okafor moved this from To do to Done" in error["message"]
    assert error["details"]["current"]["version"] == 2
    assert error["details"]["current"]["status"] == "done"
    db_session.expire_all()
    assert db_session.get(Story, story.id).status == "done"
    assert db_session.scalar(select(func.count(StoryEvent.id))) == 1


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"version": 1, "points": 4, "status": "nope"}, {"points", "status"}),
        ({"version": 1, "stage": "labelling"}, {"stage"}),
        ({"version": 1, "assignee": "ghost@example.com"}, {"assignee"}),
        ({"status": "done"}, {"version"}),
        ({"version": "1", "status": "done"}, {"version"}),
        ({"version": 1, "favourite": True}, {"favourite"}),
    ],
)
def test_invalid_patches_get_422_with_per_field_messages(
    clients, db_session, story, payload, fields
):
    response = clients["edit"].api("PATCH", "/api/v1/stories/FRAUD-1", payload)
    assert response.status_code == 422
    assert set(response.json["error"]["details"]) == fields
    db_session.expire_all()
    assert db_session.get(Story, story.id).version == 1


def test_a_body_that_is_not_a_json_object_gets_400(clients, story):
    response = clients["edit"].api("PATCH", "/api/v1/stories/FRAUD-1", json=[1, 2])
    assert response.status_code == 400
    assert "JSON object" in response.json["error"]["message"]
    raw = clients["edit"].open(
        "/api/v1/stories/FRAUD-1",
        method="PATCH",
        data="{not json",
        headers={"X-CSRFToken": clients["edit"].csrf_token(), "Content-Type": "application/json"},
    )
    assert raw.status_code == 400
    assert raw.is_json


def test_create_story_through_the_api(clients, db_session, story):
    response = clients["edit"].api(
        "POST",
        "/api/v1/projects/FRAUD/stories",
        {
            "title": "Check recall parity across age groups",
            "type": "experiment",
            "stage": "evaluation",
            "hypothesis": "Recall differs by less than 3 points across age groups",
        },
    )
    assert response.status_code == 201
    body = response.json
    assert (body["key"], body["type"], body["outcome"], body["version"]) == (
        "FRAUD-2",
        "experiment",
        "pending",
        1,
    )
    listed = clients["view"].get("/api/v1/projects/FRAUD/stories?status=todo").json["stories"]
    assert [s["key"] for s in listed] == ["FRAUD-1", "FRAUD-2"]
    assert clients["view"].get("/api/v1/projects/FRAUD/stories?status=what").status_code == 422
    backlog = clients["view"].get("/api/v1/projects/FRAUD/stories?sprint=backlog").json["stories"]
    assert [s["key"] for s in backlog] == ["FRAUD-2"]


def test_unknown_api_paths_and_methods_answer_json(clients):
    missing = clients["edit"].get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    wrong = clients["edit"].api("DELETE", "/api/v1/projects")
    assert wrong.status_code == 405 and wrong.is_json


def test_export_is_for_managers(clients, story):
    body = clients["manage"].get("/api/v1/projects/FRAUD/export").json
    assert body["format"] == "planner-export" and body["stories"][0]["key"] == "FRAUD-1"
    assert clients["edit"].get("/api/v1/projects/FRAUD/export").status_code == 403


ODD = [[], {}, ["todo"], {"a": 1}, 1.5, True, -1, "x" * 5000, None, ""]
FIELDS = [
    "title",
    "description",
    "type",
    "stage",
    "role",
    "points",
    "status",
    "assignee",
    "sprint",
    "epic",
    "blocked",
    "hypothesis",
    "metric",
    "target",
    "outcome",
    "result",
]


def test_odd_json_in_any_field_gets_an_answer_never_a_500(clients, db_session, story):
    client = clients["edit"]
    for field in FIELDS:
        for odd in ODD:
            version = client.get("/api/v1/stories/FRAUD-1").json["version"]
            response = client.api(
                "PATCH", "/api/v1/stories/FRAUD-1", {"version": version, field: odd}
            )
            assert response.status_code in (200, 422), (field, odd, response.status_code)
            assert response.is_json
            created = client.api(
                "POST", "/api/v1/projects/FRAUD/stories", {"title": "t", field: odd}
            )
            assert created.status_code in (201, 422), (field, odd, created.status_code)
