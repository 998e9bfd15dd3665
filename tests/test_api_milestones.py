"""Milestones over the API: add, read, change, mark achieved, re-forecast, delete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from planner.models import Epic, Risk
from tests.test_tokens import bearer, make_token


def test_a_manager_keeps_milestones_and_their_forecasts(app, clients, db_session, story_one):
    api = app.test_client()
    maya = bearer(make_token(clients["manage"]))
    made = api.post(
        "/api/v1/projects/FRAUD/milestones",
        json={"name": "Model meets target", "baseline": "2027-05-28", "epics": ["E1"]},
        headers=maya,
    )
    assert made.status_code == 201, made.json
    assert (made.json["baseline"], made.json["forecast"], made.json["slip_days"]) == (
        "2027-05-28",
        "2027-05-28",
        0,
    )
    ident = made.json["id"]
    assert db_session.scalar(select(Epic.milestone_id).where(Epic.key == "E1")) == ident
    moved = api.post(
        f"/api/v1/milestones/{ident}/forecasts",
        json={"forecast": "2027-06-11", "note": "DPIA review"},
        headers=maya,
    )
    assert moved.status_code == 201, moved.json
    # By hand: 11 June 2027 is 14 calendar days after 28 May; over the 7-day tolerance: late.
    assert (moved.json["slip_days"], moved.json["status"]) == (14, "late")
    read = api.get(f"/api/v1/milestones/{ident}", headers=bearer(make_token(clients["view"])))
    assert read.status_code == 200 and read.json["forecasts"][0]["note"] == "DPIA review"

    today = datetime.now(UTC).date()
    achieved = api.patch(
        f"/api/v1/milestones/{ident}", json={"achieved": today.isoformat()}, headers=maya
    )
    assert achieved.status_code == 200 and achieved.json["achieved"] == today.isoformat()
    future = api.patch(
        f"/api/v1/milestones/{ident}",
        json={"achieved": (today + timedelta(days=2)).isoformat()},
        headers=maya,
    )
    assert (
        future.status_code == 422 and "in the future" in future.json["error"]["details"]["achieved"]
    )
    cleared = api.patch(f"/api/v1/milestones/{ident}", json={"achieved": None}, headers=maya)
    assert cleared.json["achieved"] is None
    renamed = api.patch(f"/api/v1/milestones/{ident}", json={"name": "Recall target"}, headers=maya)
    assert renamed.json["name"] == "Recall target" and renamed.json["forecast"] == "2027-06-11"

    db_session.add(
        Risk(
            project_id=story_one.project_id,
            title="Threatens it",
            category="privacy",
            likelihood=2,
            impact=2,
            status="open",
            milestone_id=ident,
        )
    )
    db_session.commit()
    assert api.delete(f"/api/v1/milestones/{ident}", headers=maya).status_code == 204
    db_session.expire_all()
    assert db_session.scalar(select(Epic.milestone_id).where(Epic.key == "E1")) is None
    assert db_session.scalar(select(Risk.milestone_id).where(Risk.title == "Threatens it")) is None
    assert api.get(f"/api/v1/milestones/{ident}", headers=maya).status_code == 404


def test_milestone_writes_need_manage_and_say_what_is_wrong(app, clients, story_one):
    api = app.test_client()
    priya = bearer(make_token(clients["edit"]))
    assert api.patch("/api/v1/milestones/1", json={"name": "x"}, headers=priya).status_code == 403
    maya = bearer(make_token(clients["manage"]))
    clash = api.post(
        "/api/v1/projects/FRAUD/milestones",
        json={"name": "Pilot", "baseline": "2026-13-01", "epics": ["E9"]},
        headers=maya,
    )
    assert clash.status_code == 422
    assert clash.json["error"]["details"] == {
        "name": "FRAUD already has a milestone called Pilot.",
        "baseline": "Enter the date first promised, as YYYY-MM-DD.",
        "epics": "FRAUD has no epic 'E9'.",
    }
