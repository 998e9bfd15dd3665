"""Share links over the API: a manager makes one (its address shown once), lists them with their
state, and revokes one; the dashboard it opened stops opening at once."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.test_tokens import bearer, make_token


def test_a_manager_shares_the_dashboard_and_revokes_it(app, clients, story_one):
    api = app.test_client()
    maya = bearer(make_token(clients["manage"]))
    made = api.post(
        "/api/v1/projects/FRAUD/share-links",
        json={"label": "Steering committee", "expires_on": "2099-12-31"},
        headers=maya,
    )
    assert made.status_code == 201, made.json
    assert (made.json["state"], made.json["created_by"], made.json["expires_on"]) == (
        "live",
        "maya@example.com",
        "2099-12-31",
    )
    path = urlsplit(made.json["url"]).path
    assert app.test_client().get(path).status_code == 200  # no account needed
    listed = api.get("/api/v1/projects/FRAUD/share-links", headers=maya).json["links"]
    assert [(link["label"], link["state"]) for link in listed] == [("Steering committee", "live")]
    assert "url" not in listed[0]  # the address is never shown again
    gone = api.delete(f"/api/v1/projects/FRAUD/share-links/{made.json['id']}", headers=maya)
    assert gone.status_code == 204
    assert app.test_client().get(path).status_code == 404
    listed = api.get("/api/v1/projects/FRAUD/share-links", headers=maya).json["links"]
    assert listed[0]["state"] == "revoked"


def test_only_managers_share(app, clients, story_one):
    api = app.test_client()
    priya = bearer(make_token(clients["edit"]))
    assert api.get("/api/v1/projects/FRAUD/share-links", headers=priya).status_code == 403
    made = api.post("/api/v1/projects/FRAUD/share-links", json={"label": "x"}, headers=priya)
    assert made.status_code == 403
    maya = bearer(make_token(clients["manage"]))
    bad = api.post(
        "/api/v1/projects/FRAUD/share-links",
        json={"label": " ", "expires_on": "2000-01-01"},
        headers=maya,
    )
    assert bad.status_code == 422 and set(bad.json["error"]["details"]) == {"label", "expires_on"}


def test_revoking_a_link_twice_says_so(app, clients, story_one):
    api = app.test_client()
    maya = bearer(make_token(clients["manage"]))
    made = api.post("/api/v1/projects/FRAUD/share-links", json={"label": "Board"}, headers=maya)
    url = f"/api/v1/projects/FRAUD/share-links/{made.json['id']}"
    assert api.delete(url, headers=maya).status_code == 204
    again = api.delete(url, headers=maya)
    assert again.status_code == 409
    assert again.json["error"]["message"] == "That link was already revoked."
