"""docs/rules.md is served as the rules page, and every "How is this computed?" link lands on a
heading that exists."""

from __future__ import annotations

import re

import pytest


def test_the_rules_page_is_public_and_has_an_anchor_per_heading(client):
    page = client.get("/rules")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for anchor in ("people-and-access", "sprint-charts", "milestones", "risks", "limits"):
        assert f'id="{anchor}"' in html, anchor
    assert "<table>" in html  # the access table is drawn as a table, not as pipes
    assert "<script" not in html.split("<main", 1)[1].split("</main>", 1)[0]


@pytest.mark.parametrize(
    "url",
    [
        "/projects/FRAUD/reports",
        "/projects/FRAUD/milestones",
        "/projects/FRAUD/risks",
        "/projects/FRAUD/dashboard",
        "/projects/FRAUD/milestones/1",
        "/projects/FRAUD/sprints/2/plan",
    ],
)
def test_how_is_this_computed_links_land_on_a_heading(clients, story_one, url):
    client = clients["view"]
    html = client.get(url).get_data(as_text=True)
    anchors = re.findall(r'href="/rules#([\w-]+)">How is this computed\?', html)
    assert anchors, url
    rules = client.get("/rules").get_data(as_text=True)
    for anchor in anchors:
        assert f'id="{anchor}"' in rules, (url, anchor)
