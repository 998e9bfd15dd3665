"""Access is decided in one place: the whole matrix of project routes by access level.

Non-members get 404 for everything of a project; view members read and get 403 on every write;
edit members change stories; manage members also change settings, stages and members.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from planner.models import (
    Comment,
    Epic,
    Membership,
    Milestone,
    MilestoneForecast,
    Project,
    Risk,
    ShareLink,
    Sprint,
    SprintCapacity,
    Stage,
    Story,
)
from tests import factories

OK = {200, 201, 302}


def _story_form(version: int = 1) -> dict:
    return {
        "title": "Edited title",
        "type": "feature",
        "status": "todo",
        "points": "3",
        "version": str(version),
    }


# (method, url, payload, minimum level that may do it)
ROUTES = [
    ("GET", "/projects/FRAUD", None, "view"),
    ("GET", "/projects/FRAUD/stories/1", None, "view"),
    ("GET", "/projects/FRAUD/members", None, "view"),
    ("GET", "/projects/FRAUD/stories/new", None, "edit"),
    ("GET", "/projects/FRAUD/settings", None, "manage"),
    ("POST", "/projects/FRAUD", {"title": "Quick story", "type": "feature"}, "edit"),
    ("POST", "/projects/FRAUD/stories/new", {"title": "Full story", "type": "bug"}, "edit"),
    ("POST", "/projects/FRAUD/stories/1", _story_form(), "edit"),
    (
        "POST",
        "/projects/FRAUD/settings",
        {
            "name": "Renamed",
            "timezone": "UTC",
            "working_days": ["1", "2"],
            "sprint_length_days": "10",
            "slip_tolerance_days": "3",
        },
        "manage",
    ),
    (
        "POST",
        "/projects/FRAUD/stages",
        {"stage-key": "safety_review", "stage-name": "Safety review"},
        "manage",
    ),
    ("POST", "/projects/FRAUD/stages/modeling", {"action": "rename", "name": "Training"}, "manage"),
    (
        "POST",
        "/projects/FRAUD/members",
        {"add-email": "otto@example.com", "add-access": "view"},
        "manage",
    ),
    ("API GET", "/api/v1/projects/FRAUD", None, "view"),
    ("API GET", "/api/v1/projects/FRAUD/stories", None, "view"),
    ("API GET", "/api/v1/stories/FRAUD-1", None, "view"),
    ("API POST", "/api/v1/projects/FRAUD/stories", {"title": "From the API"}, "edit"),
    ("API PATCH", "/api/v1/stories/FRAUD-1", {"version": 1, "status": "in_progress"}, "edit"),
    ("API GET", "/api/v1/projects/FRAUD/export", None, "manage"),
    # Backlog and sprint planning (sprint 1 is active, sprint 2 planned, epic E1 exists).
    ("GET", "/projects/FRAUD/backlog", None, "view"),
    ("POST", "/projects/FRAUD/backlog", {"title": "From the backlog", "type": "chore"}, "edit"),
    ("POST", "/projects/FRAUD/backlog/rank", {"rank": "1:top"}, "manage"),
    ("POST", "/projects/FRAUD/backlog/move", {"story": ["1"], "target": "2"}, "manage"),
    ("GET", "/projects/FRAUD/sprints", None, "view"),
    (
        "POST",
        "/projects/FRAUD/sprints",
        {"name": "Sprint 9", "start": "2027-01-04", "end": "2027-01-15"},
        "manage",
    ),
    ("GET", "/projects/FRAUD/sprints/2", None, "view"),
    ("GET", "/projects/FRAUD/sprints/2/plan", None, "view"),
    ("POST", "/projects/FRAUD/sprints/2/plan", {"action": "capacity", "capacity-2": "5"}, "manage"),
    ("GET", "/projects/FRAUD/sprints/2/edit", None, "manage"),
    (
        "POST",
        "/projects/FRAUD/sprints/2/edit",
        {"name": "Sprint Two", "start": "2026-03-16", "end": "2026-03-27"},
        "manage",
    ),
    ("POST", "/projects/FRAUD/sprints/2/start", {}, "manage"),
    ("GET", "/projects/FRAUD/sprints/1/close", None, "manage"),
    ("POST", "/projects/FRAUD/sprints/1/close", {"all": "backlog"}, "manage"),
    ("GET", "/projects/FRAUD/epics", None, "view"),
    ("POST", "/projects/FRAUD/epics", {"title": "Drift monitoring"}, "edit"),
    ("GET", "/projects/FRAUD/epics/E1", None, "view"),
    ("POST", "/projects/FRAUD/epics/E1", {"title": "Gold labels", "action": "save"}, "edit"),
    ("API GET", "/api/v1/sprints/1", None, "view"),
    ("API GET", "/api/v1/projects/FRAUD/velocity", None, "view"),
    (
        "API POST",
        "/api/v1/projects/FRAUD/backlog/reorder",
        {"story": 1, "target": "backlog", "before": None},
        "manage",
    ),
    # The board and comments.
    ("GET", "/projects/FRAUD/board", None, "view"),
    ("GET", "/projects/FRAUD/board?sprint=1&lanes=stage&mine=1", None, "view"),
    ("POST", "/projects/FRAUD/board/1", {"status": "in_progress", "version": "1"}, "edit"),
    ("POST", "/projects/FRAUD/stories/1/comments", {"body": "Kappa 0.81 on batch 2"}, "edit"),
    ("API GET", "/api/v1/sprints/1/board", None, "view"),
    # Reports.
    ("GET", "/projects/FRAUD/reports", None, "view"),
    ("GET", "/projects/FRAUD/reports?sprint=1&unit=stories", None, "view"),
    ("GET", "/projects/FRAUD/reports/1/burndown.csv", None, "view"),
    ("GET", "/projects/FRAUD/reports/1/roles.csv", None, "view"),
    ("API GET", "/api/v1/projects/FRAUD/sprints", None, "view"),
    ("API GET", "/api/v1/sprints/1/burndown?unit=stories", None, "view"),
    # Milestones, risks, the dashboard and share links (milestone 1 and risk 1 exist).
    ("GET", "/projects/FRAUD/dashboard", None, "view"),
    ("GET", "/projects/FRAUD/milestones", None, "view"),
    (
        "POST",
        "/projects/FRAUD/milestones",
        {"name": "Production launch", "baseline": "2026-06-30"},
        "manage",
    ),
    ("GET", "/projects/FRAUD/milestones/1", None, "view"),
    (
        "POST",
        "/projects/FRAUD/milestones/1",
        {"action": "forecast", "f-forecast": "2027-05-20", "f-note": "gateway"},
        "manage",
    ),
    ("GET", "/projects/FRAUD/risks", None, "view"),
    (
        "POST",
        "/projects/FRAUD/risks",
        {
            "title": "Drift",
            "category": "model_drift",
            "likelihood": "3",
            "impact": "3",
            "status": "open",
        },
        "manage",
    ),
    ("GET", "/projects/FRAUD/risks/1", None, "view"),
    (
        "POST",
        "/projects/FRAUD/risks/1",
        {
            "title": "Bias",
            "category": "bias_fairness",
            "likelihood": "2",
            "impact": "2",
            "status": "open",
        },
        "manage",
    ),
    ("GET", "/projects/FRAUD/share", None, "manage"),
    ("POST", "/projects/FRAUD/share", {"label": "Steering committee"}, "manage"),
    ("API GET", "/api/v1/projects/FRAUD/milestones", None, "view"),
    ("API POST", "/api/v1/milestones/1/forecasts", {"forecast": "2027-05-20"}, "manage"),
]
RANK = {"none": 0, "view": 1, "edit": 2, "manage": 3}


def call(client, method: str, url: str, payload):
    if method == "GET":
        return client.get(url)
    if method == "POST":
        return client.post_form(url, payload)
    verb = method.split()[1]
    return client.api(verb, url, json=payload)


@pytest.mark.parametrize("level", ["none", "view", "edit", "manage"])
@pytest.mark.parametrize(("method", "url", "payload", "needs"), ROUTES)
def test_access_matrix(clients, story_one, level, method, url, payload, needs):
    response = call(clients[level], method, url, payload)
    if level == "none":
        assert response.status_code == 404, response.get_data(as_text=True)[:300]
    elif RANK[level] >= RANK[needs]:
        assert response.status_code in OK, response.get_data(as_text=True)[:500]
    else:
        assert response.status_code == 403, response.get_data(as_text=True)[:300]


def test_a_project_that_does_not_exist_answers_like_one_you_cannot_see(clients, story_one):
    for url in ("/projects/NOPE", "/projects/NOPE/stories/1", "/api/v1/stories/NOPE-1"):
        assert clients["manage"].get(url).status_code == 404
    assert clients["manage"].get("/projects/FRAUD/stories/999").status_code == 404
    assert clients["manage"].get("/api/v1/stories/FRAUD-999").status_code == 404
    assert clients["manage"].get("/api/v1/stories/not-a-key").status_code == 404


def test_refused_writes_change_nothing(clients, db_session, team, story_one):
    for method, url, payload, _needs in ROUTES:
        if method.endswith("GET"):
            continue
        for level in ("none", "view"):
            call(clients[level], method, url, payload)
    db_session.expire_all()
    assert db_session.scalar(select(func.count(Story.id))) == 1
    story = db_session.get(Story, story_one.id)
    assert (story.title, story.version, story.status) == ("Original", 1, "todo")
    assert db_session.scalar(select(Project.name)) == "Card fraud detection"
    assert db_session.scalar(select(func.count(Stage.id)).where(Stage.key == "safety_review")) == 0
    assert db_session.scalar(select(func.count(Membership.id))) == 3
    sprints = {s.name: s for s in db_session.scalars(select(Sprint))}
    assert set(sprints) == {"Sprint 1", "Sprint 2"}
    assert (sprints["Sprint 1"].state, sprints["Sprint 2"].state) == ("active", "planned")
    assert db_session.scalar(select(func.count(SprintCapacity.sprint_id))) == 0
    assert [(e.key, e.title) for e in db_session.scalars(select(Epic))] == [
        ("E1", "Gold-label set")
    ]
    assert db_session.get(Story, story_one.id).sprint_id == sprints["Sprint 1"].id
    assert db_session.scalar(select(func.count(Comment.id))) == 0
    assert db_session.scalar(select(func.count(Milestone.id))) == 1
    assert db_session.scalar(select(func.count(MilestoneForecast.id))) == 0
    assert [(r.title, r.likelihood) for r in db_session.scalars(select(Risk))] == [
        ("Original risk", 3)
    ]
    assert db_session.scalar(select(func.count(ShareLink.id))) == 0


def test_view_members_see_no_edit_controls(clients, story_one):
    project_page = clients["view"].get("/projects/FRAUD").get_data(as_text=True)
    assert "Add story" not in project_page
    assert "Full story form" not in project_page
    story_page = clients["view"].get("/projects/FRAUD/stories/1").get_data(as_text=True)
    assert "You have view access" in story_page
    assert "<fieldset disabled" in story_page
    assert ">Save<" not in story_page
    members_page = clients["view"].get("/projects/FRAUD/members").get_data(as_text=True)
    assert "Add a member" not in members_page
    assert "Settings" not in clients["edit"].get("/projects/FRAUD").get_data(as_text=True)


def test_only_site_admins_reach_user_administration(app, db_session, clients, team):
    for level in ("manage", "edit", "view", "none"):
        assert clients[level].get("/admin/users").status_code == 403
    admin = factories.account(db_session, "root@example.com", "Site Admin", admin=True)
    db_session.commit()
    from tests.conftest import sign_in

    assert sign_in(app, admin).get("/admin/users").status_code == 200
    # A site admin is not a member of FRAUD, so sees nothing of it.
    assert sign_in(app, admin).get("/projects/FRAUD").status_code == 404


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("POST", "/projects/FRAUD"),
        ("POST", "/projects/FRAUD/stories/1"),
        ("API PATCH", "/api/v1/stories/FRAUD-1"),
        ("API POST", "/api/v1/projects/FRAUD/stories"),
    ],
)
def test_writes_without_the_csrf_token_are_refused(clients, db_session, story_one, method, url):
    client = clients["manage"]
    if method == "POST":
        response = client.post(url, data={"title": "no token", "version": "1"})
    else:
        response = client.open(
            url, method=method.split()[1], json={"title": "no token", "version": 1}
        )
    assert response.status_code == 400
    db_session.expire_all()
    assert db_session.scalar(select(func.count(Story.id))) == 1
    assert db_session.get(Story, story_one.id).title == "Original"
