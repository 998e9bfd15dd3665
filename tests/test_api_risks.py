"""The risk register over the API: stakeholders read it, managers keep it."""

from __future__ import annotations

from tests.test_tokens import bearer, make_token


def test_a_manager_keeps_the_register_and_a_stakeholder_reads_it(app, clients, story_one):
    api = app.test_client()
    maya = bearer(make_token(clients["manage"]))
    made = api.post(
        "/api/v1/projects/FRAUD/risks",
        json={
            "title": "Labels leak the outcome",
            "category": "data_quality",
            "likelihood": 4,
            "impact": 5,
            "owner": "priya@example.com",
            "milestone": 1,
            "review_on": "2026-03-20",
            "stories": ["FRAUD-1"],
        },
        headers=maya,
    )
    assert made.status_code == 201, made.json
    # By hand: 4 x 5 = 20, critical (20-25).
    assert (made.json["score"], made.json["level"], made.json["status"]) == (20, "critical", "open")
    assert (made.json["owner"], made.json["stories"], made.json["milestone"]) == (
        "priya@example.com",
        ["FRAUD-1"],
        1,
    )
    url = f"/api/v1/projects/FRAUD/risks/{made.json['id']}"
    changed = api.patch(
        url, json={"impact": 2, "status": "mitigating", "stories": []}, headers=maya
    )
    assert changed.status_code == 200
    # 4 x 2 = 8: medium (5-9).
    assert (changed.json["score"], changed.json["level"], changed.json["stories"]) == (
        8,
        "medium",
        [],
    )
    helen = bearer(make_token(clients["view"]))
    listed = api.get("/api/v1/projects/FRAUD/risks", headers=helen).json["risks"]
    # Highest score first: the fixture's 3 x 4 = 12 before this one's 8.
    assert [(r["title"], r["score"]) for r in listed] == [
        ("Original risk", 12),
        ("Labels leak the outcome", 8),
    ]
    assert api.patch(url, json={"impact": 1}, headers=helen).status_code == 403
    assert api.delete(url, headers=maya).status_code == 204
    assert api.get(url, headers=maya).status_code == 404


def test_risk_values_are_checked_with_a_message_per_field(app, clients, story_one):
    api = app.test_client()
    maya = bearer(make_token(clients["manage"]))
    bad = api.post(
        "/api/v1/projects/FRAUD/risks",
        json={
            "title": "x",
            "category": "weather",
            "likelihood": 6,
            "impact": 0,
            "owner": "nobody@example.com",
            "stories": ["FRAUD-99"],
        },
        headers=maya,
    )
    assert bad.status_code == 422
    assert set(bad.json["error"]["details"]) == {
        "category",
        "likelihood",
        "impact",
        "owner",
        "stories",
    }
    assert bad.json["error"]["details"]["likelihood"] == "Likelihood is a whole number from 1 to 5."
    outsider = bearer(make_token(clients["none"]))
    assert api.get("/api/v1/projects/FRAUD/risks/1", headers=outsider).status_code == 404
