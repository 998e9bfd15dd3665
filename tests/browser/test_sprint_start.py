"""A scrum master starts a sprint planned for later through the confirmation: today is proposed,
the commitment is weighed against capacity and velocity, and what was confirmed is what the sprint
keeps (issue 14)."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from planner.models import Sprint
from planner.timeutil import local_date, utcnow
from tests import factories
from tests.browser.conftest import sign_in


def test_a_sprint_starts_through_the_confirmation(live_server, new_page, shots, db_session, team):
    today = local_date(utcnow(), team.project.timezone)
    # Planned to start in 8 days and last 12: started today instead, the Sprint 5 case.
    sprint = factories.sprint(
        db_session, team.project, "Sprint 5", today + timedelta(days=8), today + timedelta(days=19)
    )
    for title, points in [("Label batch 3", 8), ("Retrain with new labels", 5), ("Drift job", 3)]:
        factories.story(
            db_session, team.project, team.manager, title=title, points=points, sprint=sprint.id
        )
    db_session.commit()

    page = new_page()
    sign_in(page, live_server, "maya@example.com", factories.PASSWORD)
    page.goto(f"{live_server}/projects/FRAUD/sprints/{sprint.id}/plan")
    page.get_by_label("Priya Raman").fill("10")
    page.get_by_role("button", name="Save capacity").click()
    page.get_by_role("link", name="Start sprint…").click()

    commitment = page.locator("[data-commitment]")
    expect(commitment.get_by_role("heading")).to_have_text("The commitment: 16 points in 3 stories")
    # 16 points against 10 of capacity (Priya's 10; Maya has none saved).
    expect(commitment).to_contain_text("Over capacity by 6 points")
    expect(page.get_by_label("Start date")).to_have_value(today.isoformat())
    shots.take(page, "start-confirmation")

    # The team agrees on a shorter sprint: 10 days from today.
    end = today + timedelta(days=9)
    page.get_by_label("End date").fill(end.isoformat())
    page.get_by_role("button", name="Start Sprint 5 with 16 points").click()
    expect(page.get_by_text("Sprint 5 started.")).to_be_visible()
    expect(page.locator(".summary-grid")).to_contain_text("Committed16 pts3 stories at the start")
    shots.take(page, "started")

    db_session.expire_all()
    started = db_session.get(Sprint, sprint.id)
    assert (started.state, started.start_date, started.end_date) == ("active", today, end)

    phone = new_page(width=390, height=844)
    sign_in(phone, live_server, "maya@example.com", factories.PASSWORD)
    other = factories.sprint(
        db_session, team.project, "Sprint 6", today + timedelta(days=20), today + timedelta(days=31)
    )
    db_session.commit()
    phone.goto(f"{live_server}/projects/FRAUD/sprints/{other.id}/start")
    # Sprint 5 is running: the refusal links to closing it.
    expect(phone.get_by_text("Sprint 5 is still active.")).to_be_visible()
    phone.get_by_role("link", name="Close Sprint 5…").click()
    expect(phone.get_by_role("heading", name="Close Sprint 5")).to_be_visible()
    phone.goto(f"{live_server}/projects/FRAUD/sprints/{other.id}/start")
    shots.take(phone, "phone-start-refused")
