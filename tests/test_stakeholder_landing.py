"""View members (stakeholders) land on a project's dashboard; people who work on it, on its
stories."""

from __future__ import annotations

import re


def project_link(page: str) -> str:
    match = re.search(r'<h2><a href="([^"]+)">Card fraud detection</a></h2>', page)
    assert match, "the projects list has no link to FRAUD"
    return match.group(1)


def test_a_stakeholder_opens_the_project_on_its_dashboard(clients):
    viewer = clients["view"]
    link = project_link(viewer.get("/").get_data(as_text=True))
    assert link == "/projects/FRAUD/dashboard"
    dashboard = viewer.get(link)
    assert dashboard.status_code == 200
    assert '<a href="/projects/FRAUD/dashboard" aria-current="page">Dashboard</a>' in (
        dashboard.get_data(as_text=True)
    )


def test_members_who_work_on_it_open_its_stories(clients):
    for level in ("edit", "manage"):
        link = project_link(clients[level].get("/").get_data(as_text=True))
        assert link == "/projects/FRAUD", level
