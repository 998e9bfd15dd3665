"""The OpenAPI document at /api/v1/openapi.json: valid OpenAPI 3.1, every /api/v1 route in it and
nothing else, both ways in; requests that break it answered in planner's error shape, after the
access check."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from tests.test_tokens import bearer, make_token


def document(client) -> dict:
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    return answer.json


def test_the_document_is_valid_openapi_3_1_with_both_ways_in(app):
    doc = document(app.test_client())  # public: it holds no data
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    schemes = doc["components"]["securitySchemes"]
    assert schemes["token"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["token"]["description"],
    }
    assert (schemes["session"]["type"], schemes["session"]["in"]) == ("apiKey", "cookie")
    assert "X-CSRFToken" in schemes["session"]["description"]


def test_every_api_route_is_in_the_document_and_the_reverse(app):
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api_openapi_json":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method.lower(), path))
    documented = {
        (method, path)
        for path, operations in document(app.test_client())["paths"].items()
        for method in operations
    }
    assert routes == documented
    assert len(routes) >= 16


def test_every_operation_declares_its_answers_and_errors(app):
    for path, operations in document(app.test_client())["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"401", "429"} <= codes, (method, path)
            assert any(code.startswith("2") for code in codes), (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            if "requestBody" in operation:
                assert {"400", "422"} <= codes, (method, path)
            if method != "get":
                assert "403" in codes, (method, path)  # a read token, if nothing else
                if path != "/api/v1/notifications/read":  # your own inbox: no project to miss
                    assert "404" in codes, (method, path)


def test_a_body_of_the_wrong_shape_is_422_per_field_in_planner_words(clients, story_one):
    answer = clients["edit"].api(
        "PATCH", "/api/v1/stories/FRAUD-1", {"version": "1", "points": "3", "colour": "red"}
    )
    assert answer.status_code == 422
    assert answer.json["error"]["code"] == "invalid"
    assert answer.json["error"]["details"] == {
        "version": "Send a whole number.",
        "points": "Send a whole number.",
        "colour": "Unknown field: send only the fields the API document lists.",
    }
    missing = clients["edit"].api("POST", "/api/v1/projects/FRAUD/stories", {"type": "bug"})
    assert missing.status_code == 422
    assert missing.json["error"]["details"] == {"title": "This field is required."}
    unit = clients["edit"].get("/api/v1/sprints/1/burndown?unit=hours")
    assert unit.status_code == 422
    assert unit.json["error"]["details"] == {"unit": "Choose one of: 'points' or 'stories'."}


def test_the_access_check_comes_before_the_body_check(app, clients, story_one):
    # An outsider learns nothing from a broken body: 404, as for any project it cannot see.
    outsider = clients["none"]
    for method, url in (
        ("PATCH", "/api/v1/stories/FRAUD-1"),
        ("POST", "/api/v1/projects/FRAUD/stories"),
        ("POST", "/api/v1/projects/FRAUD/backlog/reorder"),
        ("POST", "/api/v1/milestones/1/forecasts"),
    ):
        assert outsider.api(method, url, {"nonsense": True}).status_code == 404, url
    # And a read token is refused the write before its body is read.
    secret = make_token(clients["manage"], scope="read")
    answer = app.test_client().patch(
        "/api/v1/stories/FRAUD-1", json={"nonsense": True}, headers=bearer(secret)
    )
    assert answer.status_code == 403
