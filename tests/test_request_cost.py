"""What a request costs, in queries (issue 16, "cheap requests"): the dashboard, a closed
sprint's report and a story PATCH run a fixed number of statements, the same for the demo project
and for the demo grown bigger (more members, sprints, epics, stories, risks); the project context
is loaded once per request in four queries, and in none when the worker keeps a copy of it
under the project's context stamp (planner/domain/context.py, tests/test_shared_context.py);
API answers are checked against their schema in tests and development, not in production."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import jsonify
from sqlalchemy import select

from planner import db
from planner.api.spec import answers, spec
from planner.demo import install_demo
from planner.domain.context import load_context
from planner.domain.epics import create_epic
from planner.domain.milestones import create_milestone
from planner.domain.risks import create_risk
from planner.models import Account, Project, Sprint, Story
from planner.timeutil import utcnow
from tests import factories
from tests.conftest import sign_in


@pytest.fixture
def demo(db_session) -> Project:
    install_demo(db_session, hash_method=factories.HASH, mlflow_folder=None)
    db_session.commit()
    return db_session.scalar(select(Project).where(Project.key == "FRAUD"))


@pytest.fixture
def maya(app, db_session, demo):
    """The demo's scrum master (manage access), signed in."""
    account = db_session.scalar(select(Account).where(Account.email == "maya@example.com"))
    return sign_in(app, account)


def grow(session, project: Project) -> None:
    """Make the demo bigger in every collection the three requests read: 6 more members with
    roles, 4 more sprints (one closed), 5 more epics, 60 more stories (20 in the active sprint),
    6 more open risks and a milestone."""
    for i in range(6):
        person = factories.account(session, f"extra{i}@example.com", f"Extra {i}")
        factories.member(
            session, project, person, "edit", ["ml_engineer", "data_engineer"][: 1 + i % 2]
        )
    ctx = load_context(session, project)
    last = max(s.end_date for s in ctx.sprints.values())
    for i in range(4):
        start = last + timedelta(days=14 * (i + 1))
        factories.sprint(session, project, f"Extra sprint {i}", start, start + timedelta(days=11))
    for i in range(5):
        create_epic(session, ctx, {"title": f"Extra epic {i}", "stage": "modeling"})
    active = next(s for s in ctx.sprints.values() if s.state == "active")
    for i in range(60):
        factories.story(
            session,
            project,
            title=f"Extra story {i}",
            points=(1, 2, 3, 5, 8)[i % 5],
            stage="modeling",
            sprint=active.id if i < 20 else None,
        )
    ctx = load_context(session, project)
    for i in range(6):
        create_risk(
            session,
            ctx,
            {"title": f"Extra risk {i}", "category": "privacy", "likelihood": 2, "impact": 3},
            now=utcnow(),
        )
    create_milestone(session, ctx, {"name": "Extra milestone", "baseline": "2027-06-01"})
    session.commit()


def counted(count_queries, call) -> list[str]:
    call()  # the first read may store what later reads reuse (a closed sprint's series)
    with count_queries() as counter:
        call()
    return counter.statements


# The dashboard, for a signed-in member:
#  1 the account, with the bell's unread count (signin.load_account)
#  2 the project and the membership with its roles (authz)
#  3-6 the context: stages; members with accounts and roles; sprints; epics
#  7 milestones; 8 their forecasts
#  9 holidays; 10 the active sprint's stories; 11 their events (its burndown)
#  12 the open risks with their owners
#  13 points per stage
#  14 the milestones' MLflow run links (metric trends)
#  15 the stage gates
#  16 when anything shown last changed
DASHBOARD_QUERIES = 16


def test_the_dashboard_runs_the_same_queries_for_the_demo_and_a_bigger_project(
    maya, db_session, demo, count_queries
):
    small = counted(count_queries, lambda: maya.get("/projects/FRAUD/dashboard"))
    grow(db_session, demo)
    big = counted(count_queries, lambda: maya.get("/projects/FRAUD/dashboard"))
    assert len(small) == DASHBOARD_QUERIES, small
    assert len(big) == DASHBOARD_QUERIES, big


# A closed sprint's report, its series stored (planner.domain.series):
#  1 the account with the unread count; 2 project and membership with its roles
#  3-6 the context
#  7 holidays
#  8 the stored rows of the sprints shown, with what each must still match; 9, 10 whether
#    events arrived since (after the last one stored; dated before it)
#  11 the active sprint's stories; 12 their events (it is shown beside the closed ones)
#  13 the capacity of the closed sprints (the suggestion)
#  14-16 the stories of each of the three closed sprints' stored series
#  17 the sprint's own capacity
#  18 the first page of its scope changes; 19 the stored scope changes
REPORT_QUERIES = 19


def test_a_closed_sprints_report_runs_the_same_queries_for_the_demo_and_a_bigger_project(
    maya, db_session, demo, count_queries
):
    closed = db_session.scalar(
        select(Sprint)
        .where(Sprint.project_id == demo.id, Sprint.state == "closed")
        .order_by(Sprint.start_date.desc())
    )
    url = f"/projects/FRAUD/reports?sprint={closed.id}"
    small = counted(count_queries, lambda: maya.get(url))
    grow(db_session, demo)
    big = counted(count_queries, lambda: maya.get(url))
    assert len(small) == REPORT_QUERIES, small
    assert len(big) == REPORT_QUERIES, big


# A story PATCH changing its title:
#  1 the account (no unread count: an API call shows no bell)
#  2 the project, membership with its roles, and story
#  3-6 the context
#  7 INSERT a project_change row for its project and for those of the stories it blocks or is
#    blocked by, found in the same statement (planner.models.versioning)
#  8 INSERT the outbox event (webhooks); 9 UPDATE story; 10 INSERT the text change
#  11 the story's history, labels, what blocks it and what it blocks, and its checklist
#     (planner.domain.dependencies.story_parts), read before the commit
PATCH_QUERIES = 11


def test_a_story_patch_runs_the_same_queries_for_the_demo_and_a_bigger_project(
    maya, db_session, demo, count_queries
):
    story = db_session.scalar(
        select(Story).where(Story.project_id == demo.id).order_by(Story.number)
    )
    url = f"/api/v1/stories/FRAUD-{story.number}"
    titles = iter(f"Title {i}" for i in range(10))

    def patch():
        version = maya.get(url).get_json()["version"]
        response = maya.api("PATCH", url, {"version": version, "title": next(titles)})
        assert response.status_code == 200, response.get_data(as_text=True)
        return response

    def statements_of_one_patch() -> list[str]:
        version = maya.get(url).get_json()["version"]
        with count_queries() as counter:
            response = maya.api("PATCH", url, {"version": version, "title": next(titles)})
        assert response.status_code == 200, response.get_data(as_text=True)
        return counter.statements

    patch()
    small = statements_of_one_patch()
    grow(db_session, demo)
    big = statements_of_one_patch()
    assert len(small) == PATCH_QUERIES, small
    assert len(big) == PATCH_QUERIES, big
    assert maya.get(url).get_json()["title"] == "Title 2"


# With the worker's copy of the context (as every request after the first since the project's
# stages, members, sprints or epics last changed), the same requests leave out its four queries.
def test_with_the_workers_copy_of_the_context_the_four_context_queries_are_left_out(
    app, maya, db_session, demo, count_queries
):
    app.config["PAGE_CACHE_MB"] = 0  # pages drawn, the context's copy kept
    story = db_session.scalar(
        select(Story).where(Story.project_id == demo.id).order_by(Story.number)
    )
    url = f"/api/v1/stories/FRAUD-{story.number}"
    maya.get("/projects/FRAUD/dashboard")  # the first request since the demo was installed
    with count_queries(kept=True) as dashboard:
        assert maya.get("/projects/FRAUD/dashboard").status_code == 200
    version = maya.get(url).get_json()["version"]
    maya.csrf_token()  # read from a page, before the count
    with count_queries(kept=True) as patch:
        response = maya.api("PATCH", url, {"version": version, "title": "Retitled"})
    assert response.status_code == 200
    # the context's queries, by their order (planner.domain.context._query)
    orders = (
        "stage.position, stage.id",
        "membership.id",
        "sprint.start_date, sprint.id",
        "epic.id",
    )
    context = re.compile(rf"ORDER BY ({'|'.join(re.escape(o) for o in orders)})\s*$")
    for counter in (dashboard, patch):
        assert not [s for s in counter.statements if context.search(s)], counter.statements
    assert len(dashboard.statements) == DASHBOARD_QUERIES - 4
    assert len(patch.statements) == PATCH_QUERIES - 4, "\n".join(s[:150] for s in patch.statements)


def test_a_page_asks_for_the_unread_count_with_the_account_and_nothing_else_does(
    maya, count_queries
):
    with count_queries() as page:
        maya.get("/")
    with count_queries() as api:
        maya.get("/api/v1/projects")
    with count_queries() as app_wide:
        maya.get("/healthz")  # an app-wide route, no page: the account alone
    assert "notification" in page.statements[0]
    assert not any("notification" in s for s in page.statements[1:])
    assert not any("notification" in s for s in api.statements)
    assert len(app_wide.statements) == 1 and "notification" not in app_wide.statements[0]


def test_the_boards_refresh_draws_no_bell_and_counts_nothing_for_it(maya, demo, count_queries):
    page = maya.get("/projects/FRAUD/board").get_data(as_text=True)
    sprint = re.search(r'data-sprint="(\d+)"', page).group(1)
    url = f"/projects/FRAUD/board/changes?sprint={sprint}"
    with count_queries() as poll:
        response = maya.get(url, headers={"Accept": "application/json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert poll.statements and [s for s in poll.statements if "notification" in s] == []


def test_the_bell_counts_what_is_unread_when_the_page_is_asked_for(app, maya, db_session, demo):
    from planner.models import Notification

    account = db_session.scalar(select(Account).where(Account.email == "maya@example.com"))
    assert 'class="bell-count"' not in maya.get("/").get_data(as_text=True)
    for i in range(3):
        db_session.add(
            Notification(
                account_id=account.id,
                project_id=demo.id,
                kind="assigned",
                text=f"note {i}",
                link="/",
                created_at=datetime(2026, 3, 2, 9, i, tzinfo=UTC),
            )
        )
    db_session.commit()
    page = maya.get("/").get_data(as_text=True)
    assert '<span class="bell-count">3</span>' in page


def test_the_context_is_loaded_once_a_request_until_it_writes_or_commits(app, demo, count_queries):
    app.config["CONTEXT_COPIES"] = False  # the request's own cache; the copies: below
    with app.test_request_context("/"):
        session = db.session()
        project = session.get(Project, demo.id)
        with count_queries() as first:
            ctx = load_context(session, project)
        with count_queries() as again:
            assert load_context(session, project) is ctx
        assert len(first.statements) == 4, first.statements
        assert again.statements == []
        assert len(ctx.members) == 15
        assert all(m.account.email for m in ctx.members.values())  # loaded, no lazy load
        epic = create_epic(session, ctx, {"title": "Written in this request"})
        session.flush()
        fresh = load_context(session, project)
        assert fresh is not ctx
        assert fresh.epics[epic.key].title == "Written in this request"
        session.rollback()
        again = load_context(session, project)
        assert again is not fresh and epic.key not in again.epics
        session.commit()
        assert load_context(session, project) is not again


def test_a_session_of_its_own_keeps_no_context(db_session, demo):
    # Only the session of a request or command (planner.db.session()) keeps it; a test's or a
    # script's own session loads afresh every time.
    assert load_context(db_session, demo) is not load_context(db_session, demo)


def test_stage_and_epic_lookups_follow_additions(db_session, demo):
    ctx = load_context(db_session, demo)
    some_stage = next(iter(ctx.stages.values()))
    assert ctx.stage_by_id(some_stage.id) is some_stage
    assert ctx.stage_by_id(None) is None and ctx.epic_by_id(None) is None
    assert ctx.stage_by_id(-1) is None and ctx.epic_by_id(-1) is None
    epic = create_epic(db_session, ctx, {"title": "Added after the lookup was built"})
    db_session.flush()
    assert ctx.epic_by_id(epic.id) is epic


@pytest.fixture
def contract_breaker(app):
    """An API route that answers outside its declared schema (no `title` in a StoryOut)."""
    from planner.api import schemas

    @app.get("/api/v1/_contract_breaker")
    @spec.validate(resp=answers(200, schemas.StoryOut), tags=["tests"])
    def contract_breaker():
        return jsonify({"key": "X-1"})

    return "/api/v1/_contract_breaker"


def test_answers_are_checked_against_their_schema_in_tests(app, maya, contract_breaker):
    assert app.config["API_VALIDATE_RESPONSES"] is True
    assert maya.get(contract_breaker).status_code == 500


def test_production_sends_answers_unchecked(app, maya, contract_breaker):
    app.config["API_VALIDATE_RESPONSES"] = False
    response = maya.get(contract_breaker)
    assert response.status_code == 200
    assert response.get_json() == {"key": "X-1"}
    assert response.mimetype == "application/json"


def test_the_production_configuration_skips_the_answer_check(monkeypatch):
    from planner import _config_module

    monkeypatch.setenv("PLANNER_SECRET_KEY", "x" * 40)
    assert _config_module().load("production")["API_VALIDATE_RESPONSES"] is False
    assert _config_module().load("development")["API_VALIDATE_RESPONSES"] is True
    assert _config_module().load("testing")["API_VALIDATE_RESPONSES"] is True
    monkeypatch.setenv("PLANNER_API_VALIDATE_RESPONSES", "1")
    assert _config_module().load("production")["API_VALIDATE_RESPONSES"] is True
    monkeypatch.setenv("PLANNER_API_VALIDATE_RESPONSES", "off")
    assert _config_module().load("development")["API_VALIDATE_RESPONSES"] is False


def test_a_request_that_changes_the_context_reads_none_of_its_objects_one_by_one(
    app, maya, db_session, demo, count_queries
):
    # Closing a sprint changes the context (the sprint's state), then updates its stories with
    # the context it loaded before: with the worker's copy, the objects it had not built yet are
    # built from the copy before the change, not read one query each after it.
    active = db_session.scalar(
        select(Sprint).where(Sprint.project_id == demo.id, Sprint.state == "active")
    )
    maya.get("/projects/FRAUD/dashboard")  # the copy is read
    maya.csrf_token()
    with count_queries(kept=True) as close:
        response = maya.api("POST", f"/api/v1/sprints/{active.id}/close", {})
    assert response.status_code == 200, response.get_data(as_text=True)
    one_by_one = re.compile(r"^SELECT .* WHERE (stage|membership|sprint|epic|account)\.id = ")
    assert [s for s in close.statements if one_by_one.search(" ".join(s.split()))] == []
