"""Access over the whole API, route by route from the URL map: an outsider gets 404 for every
call about the project, a view member 403 for every write, whatever the body says."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from planner.domain.board import add_comment
from planner.models import Story
from planner.timeutil import utcnow
from tests.test_tokens import bearer, make_token

# Real ids of the story_one fixture, so that a 404 means "not for you", not "not there".
IDS = {
    "key": "FRAUD",
    "story_key": "FRAUD-1",
    "sprint_id": 1,
    "milestone_id": 1,
    "comment_id": 1,
    "epic_key": "E1",
    "risk_id": 1,
    "email": "priya@example.com",
    "stage_key": "modeling",
    "link_id": 1,
    "webhook_id": 1,
    "delivery_id": 1,
    "blocker_key": "FRAUD-1",  # story_parts: dependencies and checklist items
    "item_id": 1,
    "gate_id": 1,
    "criterion_id": 1,
}
NOT_ABOUT_A_PROJECT = {
    "/api/v1/me",
    "/api/v1/projects",
    "/api/v1/openapi.json",
    "/api/v1/notifications",
    "/api/v1/notifications/read",
}
# Reads only managers may make (the whole export; the share links; webhooks and their secrets).
MANAGE_READS = {
    "/api/v1/projects/FRAUD/export",
    "/api/v1/projects/FRAUD/share-links",
    "/api/v1/projects/FRAUD/webhooks",
    "/api/v1/projects/FRAUD/webhooks/1",
    "/api/v1/projects/FRAUD/webhooks/1/deliveries",
}
# The writes a stakeholder may make (docs/rules.md, Access): comment, to ask, and watch.
# What each answers a view member here: the nonsense body is refused for what it is (422),
# someone else's comment stays (403 from the domain: only its author or a manager), and
# watching works.
VIEW_WRITES = {
    ("POST", "/api/v1/stories/FRAUD-1/comments"): 422,
    ("DELETE", "/api/v1/stories/FRAUD-1/comments/1"): 403,
    ("PUT", "/api/v1/stories/FRAUD-1/watch"): 200,
    ("DELETE", "/api/v1/stories/FRAUD-1/watch"): 200,
}


def api_calls(app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule in NOT_ABOUT_A_PROJECT:
            continue
        url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(IDS[m.group(1)]), rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, url


@pytest.mark.parametrize("level, expected_write", [("none", 404), ("view", 403)])
def test_every_api_call_refuses_outsiders_and_view_members(
    app, clients, story_one_linked, db_session, team, level, expected_write
):
    story = db_session.scalar(select(Story).where(Story.number == 1))
    add_comment(db_session, team.project, story, "Priya's", by=team.editor, now=utcnow())
    db_session.commit()
    token = bearer(make_token(clients[level]))
    api = app.test_client()
    calls = list(api_calls(app))
    assert len(calls) > 40
    for method, url in calls:
        answer = api.open(url, method=method, json={"nonsense": True}, headers=token)
        if level == "none":
            assert answer.status_code == 404, (method, url, answer.status_code)
        elif (method, url) in VIEW_WRITES:
            assert answer.status_code == VIEW_WRITES[method, url], (method, url, answer.status_code)
        elif method != "GET":
            assert answer.status_code == expected_write, (method, url, answer.status_code)
        elif url in MANAGE_READS:
            assert answer.status_code == 403, (method, url, answer.status_code)
        else:
            assert answer.status_code == 200, (method, url, answer.status_code)
