"""Bad input through every door: NUL bytes, unpaired surrogates, far dates, over-long text,
deeply nested and duplicate-key JSON and oversized bodies are refused with a message saying what
and where, change nothing, and never answer 500 (on SQLite and on PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from planner.models import (
    Comment,
    Epic,
    Holiday,
    Milestone,
    MilestoneForecast,
    Project,
    Risk,
    ShareLink,
    Sprint,
    Stage,
    Story,
)


def raw_api(client, method: str, url: str, body: bytes | str):
    """Send a raw JSON body (json= would refuse a lone surrogate or re-encode it)."""
    return client.open(
        url,
        method=method,
        data=body,
        content_type="application/json",
        headers={"X-CSRFToken": client.csrf_token()},
    )


def counts(db_session) -> dict[str, int]:
    db_session.expire_all()
    models = (Story, Comment, Epic, Sprint, Stage, Milestone, MilestoneForecast, Risk, ShareLink)
    return {m.__name__: db_session.scalar(select(func.count()).select_from(m)) for m in models}


# --- dates --------------------------------------------------------------------------------------


def test_a_forecast_in_the_far_future_is_refused_and_the_dashboard_keeps_working(
    clients, db_session, story_one
):
    before = counts(db_session)
    response = clients["manage"].api(
        "POST", "/api/v1/milestones/1/forecasts", {"forecast": "9999-12-31"}
    )
    assert response.status_code == 422
    assert response.json["error"]["details"] == {
        "forecast": "Enter a date between 2000-01-01 and 2099-12-31."
    }
    assert counts(db_session) == before
    for url in ("/projects/FRAUD/dashboard", "/projects/FRAUD/milestones"):
        assert clients["manage"].get(url).status_code == 200


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-01-05", "9999-12-31", "Enter a date between 2000-01-01 and 2099-12-31."),
        ("1999-12-27", "2000-01-07", "Enter a date between 2000-01-01 and 2099-12-31."),
        # 2027-01-04 .. 2027-03-01 is 57 days, one more than eight weeks.
        ("2027-01-04", "2027-03-01", "is 57 days; a sprint lasts at most 56 days (8 weeks)."),
    ],
)
def test_sprint_dates_are_bounded_and_a_sprint_lasts_at_most_eight_weeks(
    clients, db_session, story_one, start, end, message
):
    before = counts(db_session)
    response = clients["manage"].post_form(
        "/projects/FRAUD/sprints", {"name": "Sprint 9", "start": start, "end": end}
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert counts(db_session) == before


def test_a_sprint_of_exactly_eight_weeks_is_accepted(clients, db_session, story_one):
    # Monday 2027-01-04 to Sunday 2027-02-28: 56 days, both ends included.
    response = clients["manage"].post_form(
        "/projects/FRAUD/sprints", {"name": "Sprint 9", "start": "2027-01-04", "end": "2027-02-28"}
    )
    assert response.status_code == 302
    db_session.expire_all()
    sprint = db_session.scalar(select(Sprint).where(Sprint.name == "Sprint 9"))
    assert (sprint.start_date, sprint.end_date) == (date(2027, 1, 4), date(2027, 2, 28))


def test_far_review_dates_and_holidays_are_refused(clients, db_session, story_one):
    response = clients["manage"].post_form(
        "/projects/FRAUD/risks",
        {
            "title": "Drift",
            "category": "model_drift",
            "likelihood": "3",
            "impact": "3",
            "status": "open",
            "review_on": "3026-01-01",
        },
    )
    assert response.status_code == 422
    assert "Enter a date between 2000-01-01 and 2099-12-31." in response.get_data(as_text=True)
    response = clients["manage"].post_form(
        "/projects/FRAUD/settings",
        {
            "name": "Card fraud detection",
            "timezone": "UTC",
            "working_days": ["1", "2", "3", "4", "5"],
            "holidays": "2026-12-25\n9999-12-31",
            "sprint_length_days": "14",
            "slip_tolerance_days": "7",
        },
    )
    assert response.status_code == 422
    assert "9999-12-31: Enter a date between 2000-01-01 and 2099-12-31." in response.get_data(
        as_text=True
    )
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(Holiday)) == 0
    assert db_session.scalar(select(func.count()).select_from(Risk)) == 1


def test_achieved_dates_are_bounded(clients, db_session, story_one):
    response = clients["manage"].post_form(
        "/projects/FRAUD/milestones/1", {"action": "achieved", "a-achieved": "1900-01-01"}
    )
    assert response.status_code == 422
    db_session.expire_all()
    assert db_session.scalar(select(Milestone.achieved)) is None


def test_a_project_default_sprint_length_over_eight_weeks_is_refused(clients, story_one):
    response = clients["manage"].post_form(
        "/projects/FRAUD/settings",
        {
            "name": "Card fraud detection",
            "timezone": "UTC",
            "working_days": ["1", "2", "3", "4", "5"],
            "sprint_length_days": "90",
            "slip_tolerance_days": "7",
        },
    )
    assert response.status_code == 422
    assert "A sprint lasts 1 to 56 days." in response.get_data(as_text=True)


def test_an_overflowing_since_on_the_board_poll_is_a_400_not_a_500(clients, story_one):
    response = clients["view"].get(
        "/api/v1/sprints/1/board", query_string={"since": "0001-01-01T00:00:00+14:00"}
    )
    assert response.status_code in (400, 422)
    assert response.is_json


# --- NUL bytes and unpaired surrogates -------------------------------------------------------


def test_a_nul_in_the_sign_in_email_is_refused_not_a_500(client, team):
    response = client.post_form(
        "/login", {"email": "a\x00b@example.com", "password": "correct horse battery"}
    )
    assert response.status_code == 422
    assert "email" in response.get_data(as_text=True)
    assert "NUL" in response.get_data(as_text=True)


# (url, form fields; the first field gets the NUL)
NUL_FORMS = [
    ("/projects/FRAUD", {"title": "a\x00b", "type": "feature"}),
    ("/projects/FRAUD/stories/new", {"description": "x\x00", "title": "ok", "type": "bug"}),
    ("/projects/FRAUD/stories/1/comments", {"body": "kappa\x00"}),
    ("/projects/FRAUD/epics", {"title": "E\x00"}),
    ("/projects/FRAUD/stages", {"stage-name": "Safety\x00", "stage-key": "safety"}),
    ("/projects/FRAUD/milestones", {"name": "Pilot\x00", "baseline": "2026-06-30"}),
    ("/projects/FRAUD/sprints", {"name": "S\x00", "start": "2027-01-04", "end": "2027-01-15"}),
    ("/projects/FRAUD/share", {"label": "Board\x00"}),
    ("/projects/FRAUD/members", {"add-email": "otto\x00@example.com", "add-access": "view"}),
    ("/projects/FRAUD/risks", {"title": "r", "mitigation": "m\x00", "category": "privacy"}),
    ("/projects/FRAUD/settings", {"name": "N", "description": "d\x00", "timezone": "UTC"}),
]


@pytest.mark.parametrize(("url", "fields"), NUL_FORMS, ids=[u for u, _ in NUL_FORMS])
def test_a_nul_in_any_form_field_is_refused_naming_the_field(
    clients, db_session, story_one, url, fields
):
    before = counts(db_session)
    response = clients["manage"].post_form(url, fields)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    field = next(name for name, value in fields.items() if "\x00" in value)
    assert f"The field “{field}” cannot be accepted" in page
    assert "NUL" in page
    assert counts(db_session) == before


def test_a_lone_surrogate_in_api_json_is_a_422_naming_the_field(clients, db_session, story_one):
    before = counts(db_session)
    response = raw_api(
        clients["edit"], "POST", "/api/v1/projects/FRAUD/stories", '{"title": "\\ud800"}'
    )
    assert response.status_code == 422
    assert response.json["error"]["details"] == {
        "title": "Remove the invalid character (an unpaired UTF-16 surrogate)."
    }
    response = raw_api(
        clients["edit"],
        "PATCH",
        "/api/v1/stories/FRAUD-1",
        '{"version": 1, "description": "kappa \\u0000"}',
    )
    assert response.status_code == 422
    assert "NUL" in response.json["error"]["details"]["description"]
    assert counts(db_session) == before


def test_nul_in_a_query_string_or_path_is_refused(clients, story_one):
    response = clients["manage"].get("/projects/FRAUD/board?sprint=%00")
    assert response.status_code == 422
    assert "The field “sprint” cannot be accepted" in response.get_data(as_text=True)
    assert clients["manage"].get("/projects/FRAUD%00/board").status_code == 404
    api = clients["manage"].get("/api/v1/projects/FRAUD/stories?status=%00")
    assert api.status_code == 422
    assert "status" in api.json["error"]["details"]


# --- length -------------------------------------------------------------------------------------


def test_every_story_text_field_has_its_limit(clients, db_session, story_one):
    client = clients["edit"]
    limits = {"description": 20_000, "hypothesis": 5_000, "result": 5_000, "metric": 200}
    for field, limit in limits.items():
        response = client.api(
            "PATCH", "/api/v1/stories/FRAUD-1", {"version": 1, field: "x" * (limit + 1)}
        )
        assert response.status_code == 422, field
        assert response.json["error"]["details"][field] == (
            f"Keep it to {limit:,} characters (it has {limit + 1:,})."
        )
    ok = client.api("PATCH", "/api/v1/stories/FRAUD-1", {"version": 1, "description": "x" * 20_000})
    assert ok.status_code == 200
    assert len(ok.json["description"]) == 20_000


@pytest.mark.parametrize(
    ("url", "fields", "field", "limit"),
    [
        ("/projects/FRAUD/epics", {"title": "E"}, "description", 20_000),
        ("/projects/FRAUD/stories/1/comments", {}, "body", 10_000),
        (
            "/projects/FRAUD/sprints",
            {"name": "Sprint 9", "start": "2027-01-04", "end": "2027-01-15"},
            "goal",
            1_000,
        ),
        (
            "/projects/FRAUD/risks",
            {"title": "r", "category": "privacy", "likelihood": "2", "impact": "2"},
            "mitigation",
            5_000,
        ),
    ],
)
def test_free_text_on_pages_has_its_limit(
    clients, db_session, story_one, url, fields, field, limit
):
    before = counts(db_session)
    response = clients["manage"].post_form(url, {**fields, field: "y" * (limit + 1)})
    assert response.status_code in (302, 422)
    assert f"Keep it to {limit:,} characters" in response.get_data(as_text=True) or (
        response.status_code == 302
    )
    # A refusal is a refusal: nothing was added.
    if response.status_code == 302:
        follow = clients["manage"].get(response.headers["Location"]).get_data(as_text=True)
        assert f"Keep it to {limit:,} characters" in follow
    assert counts(db_session) == before


def test_a_body_over_the_request_limit_answers_413(clients, db_session, story_one):
    before = counts(db_session)
    huge = "x" * (3 * 1024 * 1024)
    response = clients["edit"].api(
        "PATCH", "/api/v1/stories/FRAUD-1", {"version": 1, "description": huge}
    )
    assert response.status_code == 413
    assert response.json["error"]["code"] == "too_large"
    page = clients["edit"].post_form("/projects/FRAUD", {"title": huge})
    assert page.status_code == 413
    assert "larger than 2 MB, the most planner takes here" in page.get_data(as_text=True)
    assert counts(db_session) == before


# --- JSON shape ---------------------------------------------------------------------------------


def test_deeply_nested_json_is_a_400_with_a_reason(clients, db_session, story_one):
    before = counts(db_session)
    response = raw_api(clients["edit"], "POST", "/api/v1/projects/FRAUD/stories", "[" * 100_000)
    assert response.status_code == 400
    assert response.json["error"]["message"] == ("The document is nested more than 32 levels deep.")
    assert counts(db_session) == before


def test_duplicate_keys_in_api_json_are_refused(clients, db_session, story_one):
    response = raw_api(
        clients["edit"],
        "PATCH",
        "/api/v1/stories/FRAUD-1",
        '{"version": 1, "title": "A", "title": "B"}',
    )
    assert response.status_code == 422
    assert "The key 'title' appears twice" in response.json["error"]["message"]
    db_session.expire_all()
    assert db_session.scalar(select(Story.title)) == "Original"


def test_project_description_has_its_limit(clients, db_session, story_one):
    response = clients["manage"].post_form(
        "/projects/FRAUD/settings",
        {
            "name": "Card fraud detection",
            "description": "d" * 20_001,
            "timezone": "UTC",
            "working_days": ["1", "2", "3", "4", "5"],
            "sprint_length_days": "14",
            "slip_tolerance_days": "7",
        },
    )
    assert response.status_code == 422
    assert "Keep it to 20,000 characters (it has 20,001)." in response.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.scalar(select(Project.description)) is None


def test_a_sprint_stored_before_the_limits_still_renders_every_page(app, db_session, team):
    """A century-long sprint already in the database (from before dates were bounded) must not
    overflow or blow up a page: it is charted over its first 366 days."""
    from datetime import UTC, datetime

    from tests import factories
    from tests.conftest import sign_in

    huge = factories.sprint(
        db_session,
        team.project,
        "Huge",
        date(2026, 1, 1),
        date(9999, 12, 31),
        state="active",
        started_at=datetime(2026, 1, 1, 9, tzinfo=UTC),
    )
    factories.story(db_session, team.project, team.editor, title="x", points=3, sprint=huge.id)
    db_session.commit()
    client = sign_in(app, team.manager)
    for url in (
        "/projects/FRAUD/reports",
        "/projects/FRAUD/board",
        "/projects/FRAUD/dashboard",
        f"/projects/FRAUD/sprints/{huge.id}",
        f"/projects/FRAUD/sprints/{huge.id}/plan",
        "/projects/FRAUD/sprints",
        "/projects/FRAUD/backlog",
    ):
        assert client.get(url).status_code == 200, url
    burndown = client.get(f"/api/v1/sprints/{huge.id}/burndown").json
    # Thursday 2026-01-01 to Friday 2027-01-01 is 366 days: 52 weeks (260 weekdays) + Thu + Fri.
    assert len(burndown["days"]) == 262
    assert burndown["days"][0] == "2026-01-01"
    assert burndown["days"][-1] == "2027-01-01"
