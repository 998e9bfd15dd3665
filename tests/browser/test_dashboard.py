"""A stakeholder signs in, lands on the dashboard, reads which milestone is late and why, sees the
trend chart drawn, finds no edit controls; the print layout and a share link work too."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from planner.demo import DEMO_PASSWORD, install_demo
from tests import factories
from tests.browser.conftest import sign_in


def test_a_stakeholder_reads_the_dashboard(live_server, new_page, shots, db_session):
    install_demo(db_session, hash_method=factories.HASH)
    db_session.commit()
    page = new_page()
    sign_in(page, live_server, "helen@example.com", DEMO_PASSWORD)
    page.get_by_role("link", name="Card fraud detection").click()
    expect(page).to_have_url(re.compile(r"/projects/FRAUD/dashboard$"))
    pilot = page.locator(".ms-item", has_text="Pilot with fraud investigators")
    expect(pilot.locator(".chip.ms-late")).to_have_text("Late")
    expect(pilot).to_contain_text("3 weeks late against the promised")
    expect(pilot).to_contain_text("slipping since the report of")
    # Every re-forecast with its reason, adding up to the slip: +2 weeks, then +1 week.
    steps = pilot.locator(".ms-steps li")
    expect(steps).to_have_count(2)
    expect(steps.nth(0)).to_contain_text("2 weeks later, Access to PII-masked data")
    expect(steps.nth(1)).to_contain_text("1 week later, The platform team can put the scoring")
    expect(pilot).to_contain_text("Together: 3 weeks late.")
    expect(pilot.get_by_role("link", name="Pilot with fraud investigators")).to_have_attribute(
        "href", re.compile(r"/projects/FRAUD/milestones/\d+$")
    )
    trend = page.locator('[data-figure="fig-trend"]')
    expect(trend).to_have_attribute("data-drawn", "yes", timeout=20_000)
    names = trend.evaluate("el => el.data.map(t => t.name)")
    assert names[0] == "Report date = forecast" and "Pilot with fraud investigators" in names
    expect(page.locator("[data-drawn=yes]")).to_have_count(4, timeout=20_000)
    expect(page.locator(".risk-list li").first).to_contain_text("Critical")
    shots.take(page, "dashboard")

    # No edit controls anywhere for a view member.
    for label in ("Share read-only…", "Save", "Record forecast", "Add story", "Move"):
        expect(page.get_by_role("button", name=label)).to_have_count(0)
    expect(page.get_by_role("link", name="Share read-only…")).to_have_count(0)
    expect(page.locator("form[method=post]:not([action$='/logout'])")).to_have_count(0)
    page.goto(f"{live_server}/projects/FRAUD/milestones/4")
    expect(page.get_by_role("heading", name="Re-forecast")).to_have_count(0)
    expect(page.get_by_role("heading", name="Edit milestone")).to_have_count(0)

    phone = new_page(width=390, height=844)
    sign_in(phone, live_server, "helen@example.com", DEMO_PASSWORD)
    phone.goto(f"{live_server}/projects/FRAUD/dashboard")
    expect(phone.locator("[data-drawn=yes]")).to_have_count(4, timeout=20_000)
    shots.take(phone, "dashboard-phone")

    page.goto(f"{live_server}/projects/FRAUD/dashboard")
    expect(page.locator("[data-drawn=yes]")).to_have_count(4, timeout=20_000)
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    shots.take(page, "dashboard-print")


def test_a_share_link_shows_the_dashboard_without_an_account(
    live_server, new_page, shots, db_session
):
    install_demo(db_session, hash_method=factories.HASH)
    db_session.commit()
    manager = new_page()
    sign_in(manager, live_server, "maya@example.com", DEMO_PASSWORD)
    manager.goto(f"{live_server}/projects/FRAUD/dashboard")
    manager.get_by_role("link", name="Share read-only…").click()
    manager.get_by_label("Who is it for?").fill("Steering committee")
    manager.get_by_role("button", name="Create link").click()
    url = manager.get_by_label("The new share link").input_value()
    assert re.match(rf"{re.escape(live_server)}/share/[A-Za-z0-9_-]{{20,}}$", url)

    guest = new_page()
    guest.goto(url)
    expect(guest.get_by_role("heading", name="Card fraud detection")).to_be_visible()
    expect(
        guest.get_by_text("Read-only view shared by the Card fraud detection team")
    ).to_be_visible()
    expect(guest.locator('[data-figure="fig-trend"]')).to_have_attribute(
        "data-drawn", "yes", timeout=20_000
    )
    expect(guest.get_by_role("link", name="Sign out")).to_have_count(0)
    shots.take(guest, "shared")

    manager.get_by_role("button", name="Revoke").click()
    expect(manager.get_by_text("is revoked")).to_be_visible()
    response = guest.goto(url)
    assert response.status == 404
