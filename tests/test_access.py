"""Access is decided in one place: the whole matrix of project routes by access level.

Non-members get 404 for everything of a project; view members read and get 403 on every write;
edit members change stories; manage members also change settings, stages and members.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from planner.domain.sharing import create_share_link
from planner.models import (
    Account,
    Comment,
    Epic,
    Membership,
    MembershipRole,
    Milestone,
    MilestoneForecast,
    Project,
    Risk,
    ShareLink,
    Sprint,
    SprintCapacity,
    Stage,
    Story,
    StoryWatch,
    Webhook,
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


# (method, url, payload, minimum level that may do it); CHECKS[i] = (setup, effect) for row i:
# `setup(db)` prepares what the write needs to succeed, `effect(db)` tells that it happened.
ROUTES: list[tuple[str, str, dict | None, str]] = []
CHECKS: dict[int, tuple[Callable | None, Callable | None]] = {}


def route(method, url, payload, needs, effect=None, setup=None) -> None:
    CHECKS[len(ROUTES)] = (setup, effect)
    ROUTES.append((method, url, payload, needs))


def happened(effect, db) -> bool:
    """The effect, where a row the write would have made is missing counting as not happened."""
    try:
        return bool(effect(db))
    except AttributeError:
        return False


def one(db, model, *where):
    return db.scalar(select(model).where(*where))


def count(db, model, *where) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where))


def story1(db) -> Story:
    return one(db, Story, Story.number == 1)


def sprint_named(db, name) -> Sprint:
    return one(db, Sprint, Sprint.name == name)


def close_sprint_one(db) -> None:
    sprint = sprint_named(db, "Sprint 1")
    sprint.state = "closed"
    sprint.closed_at = datetime(2026, 3, 13, 17, tzinfo=UTC)


def archive_modeling(db) -> None:
    one(db, Stage, Stage.key == "modeling").archived = True


def archive_e1(db) -> None:
    one(db, Epic, Epic.key == "E1").archived = True


def ops_with_otto(db) -> None:
    """Otto works on OPS, which Maya manages: she may add him to FRAUD."""
    maya = one(db, Account, Account.email == "maya@example.com")
    otto = one(db, Account, Account.email == "otto@example.com")
    ops = factories.project(db, "OPS", "Operations", owner=maya)
    factories.member(db, ops, otto, "view")


def second_story_in_sprint_one(db) -> None:
    project = one(db, Project, Project.key == "FRAUD")
    editor = one(db, Account, Account.email == "priya@example.com")
    factories.story(db, project, editor, title="Second", sprint=sprint_named(db, "Sprint 1").id)


def comment_by_priya(db) -> None:
    editor = one(db, Account, Account.email == "priya@example.com")
    db.add(Comment(story_id=story1(db).id, author_id=editor.id, body="typo", created_at=NOW))


def share_link_by_maya(db) -> None:
    project = one(db, Project, Project.key == "FRAUD")
    maya = one(db, Account, Account.email == "maya@example.com")
    create_share_link(db, project, "Board", by_id=maya.id, now=NOW)


def roles_of(db, email) -> list[str]:
    membership = membership_of(db, email)
    return list(
        db.scalars(select(MembershipRole.role).where(MembershipRole.membership_id == membership.id))
    )


def membership_of(db, email) -> Membership | None:
    return db.scalar(
        select(Membership)
        .join(Account, Account.id == Membership.account_id)
        .join(Project, Project.id == Membership.project_id)
        .where(Account.email == email, Project.key == "FRAUD")
    )


NOW = datetime.now(UTC)
TODAY = NOW.date().isoformat()

route("GET", "/projects/FRAUD", None, "view")
route("GET", "/projects/FRAUD/stories/1", None, "view")
route("GET", "/projects/FRAUD/members", None, "view")
route("GET", "/projects/FRAUD/stories/new", None, "edit")
route("GET", "/projects/FRAUD/settings", None, "manage")
route(
    "POST",
    "/projects/FRAUD",
    {"title": "Quick story", "type": "feature"},
    "edit",
    lambda db: count(db, Story, Story.title == "Quick story") == 1,
)
route(
    "POST",
    "/projects/FRAUD/stories/new",
    {"title": "Full story", "type": "bug"},
    "edit",
    lambda db: one(db, Story, Story.title == "Full story").type == "bug",
)
route(
    "POST",
    "/projects/FRAUD/stories/1",
    _story_form(),
    "edit",
    lambda db: story1(db).title == "Edited title",
)
route(
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
    lambda db: one(db, Project, Project.key == "FRAUD").name == "Renamed",
)
route(
    "POST",
    "/projects/FRAUD/stages",
    {"stage-key": "safety_review", "stage-name": "Safety review"},
    "manage",
    lambda db: count(db, Stage, Stage.key == "safety_review") == 1,
)
route(
    "POST",
    "/projects/FRAUD/stages/modeling",
    {"action": "rename", "name": "Training"},
    "manage",
    lambda db: one(db, Stage, Stage.key == "modeling").name == "Training",
)
route(
    "POST",
    "/projects/FRAUD/stages/modeling",
    {"action": "archive"},
    "manage",
    lambda db: one(db, Stage, Stage.key == "modeling").archived,
)
route(
    "POST",
    "/projects/FRAUD/stages/modeling",
    {"action": "up"},
    "manage",
    lambda db: (
        one(db, Stage, Stage.key == "modeling").position
        < one(db, Stage, Stage.key == "data_preparation").position
    ),
)
route(
    "POST",
    "/projects/FRAUD/stages/modeling",
    {"action": "down"},
    "manage",
    lambda db: (
        one(db, Stage, Stage.key == "modeling").position
        > one(db, Stage, Stage.key == "evaluation").position
    ),
)
route(
    "POST",
    "/projects/FRAUD/stages/modeling",
    {"action": "restore"},
    "manage",
    lambda db: not one(db, Stage, Stage.key == "modeling").archived,
    archive_modeling,
)
route(
    "POST",
    "/projects/FRAUD/members",
    {"add-email": "otto@example.com", "add-access": "view"},
    "manage",
    lambda db: membership_of(db, "otto@example.com").access == "view",
    ops_with_otto,
)
# Memberships in FRAUD: 1 Maya (manage), 2 Priya (edit), 3 Helen (view).
route(
    "POST",
    "/projects/FRAUD/members/2",
    {"m2-access": "view", "m2-roles": ["annotator"], "action": "update"},
    "manage",
    lambda db: (
        membership_of(db, "priya@example.com").access == "view"
        and roles_of(db, "priya@example.com") == ["annotator"]
    ),
)
route(
    "POST",
    "/projects/FRAUD/members/3",
    {"m3-access": "view", "action": "remove"},
    "manage",
    lambda db: membership_of(db, "helen@example.com") is None,
)
route("API GET", "/api/v1/projects/FRAUD", None, "view")
route("API GET", "/api/v1/projects/FRAUD/stories", None, "view")
route("API GET", "/api/v1/stories/FRAUD-1", None, "view")
route(
    "API POST",
    "/api/v1/projects/FRAUD/stories",
    {"title": "From the API"},
    "edit",
    lambda db: count(db, Story, Story.title == "From the API") == 1,
)
route(
    "API PATCH",
    "/api/v1/stories/FRAUD-1",
    {"version": 1, "status": "in_progress"},
    "edit",
    lambda db: story1(db).status == "in_progress",
)
route("API GET", "/api/v1/projects/FRAUD/export", None, "manage")
# Backlog and sprint planning (sprint 1 is active, sprint 2 planned, epic E1 exists).
route("GET", "/projects/FRAUD/backlog", None, "view")
route(
    "POST",
    "/projects/FRAUD/backlog",
    {"title": "From the backlog", "type": "chore"},
    "edit",
    lambda db: one(db, Story, Story.title == "From the backlog").type == "chore",
)
route(
    "POST",
    "/projects/FRAUD/backlog/rank",
    {"rank": "1:down"},
    "manage",
    lambda db: story1(db).rank > one(db, Story, Story.title == "Second").rank,
    second_story_in_sprint_one,
)
route(
    "POST",
    "/projects/FRAUD/backlog/move",
    {"story": ["1"], "target": "2"},
    "manage",
    lambda db: story1(db).sprint_id == sprint_named(db, "Sprint 2").id,
)
route("GET", "/projects/FRAUD/sprints", None, "view")
route(
    "POST",
    "/projects/FRAUD/sprints",
    {"name": "Sprint 9", "start": "2027-01-04", "end": "2027-01-15"},
    "manage",
    lambda db: sprint_named(db, "Sprint 9").start_date == date(2027, 1, 4),
)
route("GET", "/projects/FRAUD/sprints/2", None, "view")
route("GET", "/projects/FRAUD/sprints/2/plan", None, "view")
route(
    "POST",
    "/projects/FRAUD/sprints/2/plan",
    {"action": "capacity", "capacity-2": "5"},
    "manage",
    lambda db: one(db, SprintCapacity, SprintCapacity.account_id == 2).points == 5,
)
route("GET", "/projects/FRAUD/sprints/2/edit", None, "manage")
route(
    "POST",
    "/projects/FRAUD/sprints/2/edit",
    {"name": "Sprint Two", "start": "2026-03-16", "end": "2026-03-27"},
    "manage",
    lambda db: db.get(Sprint, 2).name == "Sprint Two",
)
route(
    "POST",
    "/projects/FRAUD/sprints/2/start",
    {},
    "manage",
    lambda db: db.get(Sprint, 2).state == "active",
    close_sprint_one,
)
route("GET", "/projects/FRAUD/sprints/1/close", None, "manage")
route(
    "POST",
    "/projects/FRAUD/sprints/1/close",
    {"all": "backlog"},
    "manage",
    lambda db: db.get(Sprint, 1).state == "closed" and story1(db).sprint_id is None,
)
route("GET", "/projects/FRAUD/epics", None, "view")
route(
    "POST",
    "/projects/FRAUD/epics",
    {"title": "Drift monitoring"},
    "edit",
    lambda db: count(db, Epic, Epic.title == "Drift monitoring") == 1,
)
route("GET", "/projects/FRAUD/epics/E1", None, "view")
route(
    "POST",
    "/projects/FRAUD/epics/E1",
    {"title": "Gold labels", "action": "save"},
    "edit",
    lambda db: one(db, Epic, Epic.key == "E1").title == "Gold labels",
)
route(
    "POST",
    "/projects/FRAUD/epics/E1",
    {"action": "archive"},
    "edit",
    lambda db: one(db, Epic, Epic.key == "E1").archived,
)
route(
    "POST",
    "/projects/FRAUD/epics/E1",
    {"action": "restore"},
    "edit",
    lambda db: not one(db, Epic, Epic.key == "E1").archived,
    archive_e1,
)
route("API GET", "/api/v1/sprints/1", None, "view")
route("API GET", "/api/v1/projects/FRAUD/velocity", None, "view")
route(
    "API POST",
    "/api/v1/projects/FRAUD/backlog/reorder",
    {"story": 1, "target": "backlog", "before": None},
    "manage",
    lambda db: story1(db).sprint_id is None,
)
# The board and comments.
route("GET", "/projects/FRAUD/board", None, "view")
route("GET", "/projects/FRAUD/board?sprint=1&lanes=stage&mine=1", None, "view")
route(
    "POST",
    "/projects/FRAUD/board/1",
    {"status": "in_progress", "version": "1"},
    "edit",
    lambda db: story1(db).status == "in_progress",
)
route(
    "POST",
    "/projects/FRAUD/stories/1/comments",
    {"body": "Kappa 0.81 on batch 2"},
    "view",  # stakeholders comment: it is how they ask (docs/rules.md, Access)
    lambda db: count(db, Comment, Comment.body == "Kappa 0.81 on batch 2") == 1,
)
route(
    "POST",
    "/projects/FRAUD/stories/1/comments/1/delete",
    {},
    "edit",
    lambda db: count(db, Comment) == 0,
    comment_by_priya,
)
route(
    "POST",
    "/projects/FRAUD/stories/1/watch",
    {"watch": "1"},
    "view",  # anyone who sees a story may watch it
    lambda db: count(db, StoryWatch, StoryWatch.story_id == 1) >= 1,
)
route("GET", "/projects/FRAUD/settings/webhooks", None, "manage")
route(
    "POST",
    "/projects/FRAUD/settings/webhooks",
    {"url": "https://93.184.216.34/hook", "events": "story.created"},
    "manage",
    lambda db: count(db, Webhook) == 1,
)
route("API GET", "/api/v1/sprints/1/board", None, "view")
route("GET", "/projects/FRAUD/board/changes?sprint=1&lanes=stage", None, "view")
# Reports.
route("GET", "/projects/FRAUD/reports", None, "view")
route("GET", "/projects/FRAUD/reports?sprint=1&unit=stories", None, "view")
route("GET", "/projects/FRAUD/reports/1/burndown.csv", None, "view")
route("GET", "/projects/FRAUD/reports/1/roles.csv", None, "view")
route("API GET", "/api/v1/projects/FRAUD/sprints", None, "view")
route("API GET", "/api/v1/sprints/1/burndown?unit=stories", None, "view")
# Milestones, risks, the dashboard and share links (milestone 1 and risk 1 exist).
route("GET", "/projects/FRAUD/dashboard", None, "view")
route("GET", "/projects/FRAUD/milestones", None, "view")
route(
    "POST",
    "/projects/FRAUD/milestones",
    {"name": "Production launch", "baseline": "2026-06-30"},
    "manage",
    lambda db: (
        one(db, Milestone, Milestone.name == "Production launch").baseline == date(2026, 6, 30)
    ),
)
route("GET", "/projects/FRAUD/milestones/1", None, "view")
route(
    "POST",
    "/projects/FRAUD/milestones/1",
    {"action": "forecast", "f-forecast": "2027-05-20", "f-note": "gateway"},
    "manage",
    lambda db: (
        one(db, MilestoneForecast, MilestoneForecast.note == "gateway").forecast
        == date(2027, 5, 20)
    ),
)
route(
    "POST",
    "/projects/FRAUD/milestones/1",
    {"action": "achieved", "a-achieved": TODAY},
    "manage",
    lambda db: db.get(Milestone, 1).achieved is not None,
)
route(
    "POST",
    "/projects/FRAUD/milestones/1",
    {"action": "edit", "name": "Pilot in two branches", "baseline": "2026-04-24"},
    "manage",
    lambda db: db.get(Milestone, 1).name == "Pilot in two branches",
)
route("GET", "/projects/FRAUD/risks", None, "view")
route(
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
    lambda db: one(db, Risk, Risk.title == "Drift").category == "model_drift",
)
route("GET", "/projects/FRAUD/risks/1", None, "view")
route(
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
    lambda db: db.get(Risk, 1).title == "Bias",
)
route("GET", "/projects/FRAUD/share", None, "manage")
route(
    "POST",
    "/projects/FRAUD/share",
    {"label": "Steering committee"},
    "manage",
    lambda db: count(db, ShareLink, ShareLink.label == "Steering committee") == 1,
)
route(
    "POST",
    "/projects/FRAUD/share",
    {"action": "revoke", "link": "1"},
    "manage",
    lambda db: db.get(ShareLink, 1).revoked_at is not None,
    share_link_by_maya,
)
route("API GET", "/api/v1/projects/FRAUD/milestones", None, "view")
route(
    "API POST",
    "/api/v1/milestones/1/forecasts",
    {"forecast": "2027-05-20"},
    "manage",
    lambda db: (
        one(db, MilestoneForecast, MilestoneForecast.milestone_id == 1).forecast
        == date(2027, 5, 20)
    ),
)
RANK = {"none": 0, "view": 1, "edit": 2, "manage": 3}


def call(client, method: str, url: str, payload):
    if method == "GET":
        return client.get(url)
    if method == "POST":
        return client.post_form(url, payload)
    verb = method.split()[1]
    return client.api(verb, url, json=payload)


@pytest.mark.parametrize("level", ["none", "view", "edit", "manage"])
@pytest.mark.parametrize(
    "index", range(len(ROUTES)), ids=[f"{m}-{u}-{i}" for i, (m, u, _, _) in enumerate(ROUTES)]
)
def test_access_matrix(clients, db_session, story_one, level, index):
    method, url, payload, needs = ROUTES[index]
    setup, effect = CHECKS[index]
    if setup is not None:
        setup(db_session)
        db_session.commit()
    response = call(clients[level], method, url, payload)
    db_session.expire_all()
    if level == "none":
        assert response.status_code == 404, response.get_data(as_text=True)[:300]
    elif RANK[level] >= RANK[needs]:
        assert response.status_code in OK, response.get_data(as_text=True)[:500]
        if effect is not None:
            # An allowed write must have happened, not been refused in a flash message.
            assert effect(db_session), (level, method, url, payload)
    else:
        assert response.status_code == 403, response.get_data(as_text=True)[:300]
        if effect is not None:
            assert not happened(effect, db_session), (level, method, url)


def test_every_write_row_checks_its_effect():
    for index, (method, _url, _payload, _needs) in enumerate(ROUTES):
        if not method.endswith("GET"):
            assert CHECKS[index][1] is not None, ROUTES[index]


def test_the_access_check_reads_every_role_of_the_membership(db_session, team, story_one):
    from planner.domain.access import project_access, projects_of, sprint_access, story_access

    roles = ["data_scientist", "ml_engineer", "annotator"]
    other = factories.project(db_session, "OTHER", "Other work", owner=team.manager)
    factories.member(db_session, other, team.editor, "edit", ["product_owner", "mlops_engineer"])
    membership = db_session.scalar(
        select(Membership)
        .where(Membership.project_id == team.project.id, Membership.account_id == team.editor.id)
        .options(selectinload(Membership.role_rows))
    )
    membership.role_rows = [MembershipRole(role=role) for role in roles]
    db_session.commit()
    sprint_id = db_session.scalar(select(Sprint.id).where(Sprint.project_id == team.project.id))
    # In the order of docs/rules.md's role list: data scientist, ML engineer, ..., annotator.
    expected = ["data_scientist", "ml_engineer", "annotator"]
    db_session.expunge_all()  # read afresh, as a request does
    assert project_access(db_session, team.editor, "fraud").membership.roles == expected
    db_session.expunge_all()
    access, story = story_access(db_session, team.editor, "FRAUD-1")
    assert access.membership.roles == expected and story.number == 1
    db_session.expunge_all()
    access, sprint = sprint_access(db_session, team.editor, sprint_id)
    assert access.membership.roles == expected and sprint.id == sprint_id
    db_session.expunge_all()
    listed = {a.project.key: a.membership.roles for a in projects_of(db_session, team.editor)}
    assert listed == {"FRAUD": expected, "OTHER": ["product_owner", "mlops_engineer"]}


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
    assert 'name="title"' not in story_page  # a read-only page, not a greyed-out form
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
