"""No page scrolls sideways on a phone: every main page of the demo fits 390 pixels (wide
tables and the board's columns scroll inside their own boxes instead)."""

from __future__ import annotations

from playwright.sync_api import expect

from planner.demo import DEMO_PASSWORD, install_demo
from tests import factories
from tests.browser.conftest import sign_in

PAGES = [
    "/",
    "/my-work",
    "/admin/users",
    "/account",
    "/projects/FRAUD/dashboard",
    "/projects/FRAUD",
    "/projects/FRAUD/board",
    "/projects/FRAUD/board?lanes=stage",
    "/projects/FRAUD/backlog",
    "/projects/FRAUD/sprints",
    "/projects/FRAUD/sprints/5/plan",
    "/projects/FRAUD/sprints/4/close",
    "/projects/FRAUD/sprints/3",
    "/projects/FRAUD/reports",
    "/projects/FRAUD/milestones",
    "/projects/FRAUD/milestones/4",
    "/projects/FRAUD/risks",
    "/projects/FRAUD/risks/1",
    "/projects/FRAUD/epics",
    "/projects/FRAUD/epics/E1",
    "/projects/FRAUD/members",
    "/projects/FRAUD/settings",
    "/projects/FRAUD/stories/24",
    "/projects/FRAUD/stories/new",
    "/projects/FRAUD/share",
]


def test_every_page_fits_a_phone(live_server, new_page, db_session):
    install_demo(db_session, hash_method=factories.HASH)
    db_session.commit()
    page = new_page(width=390, height=844)
    sign_in(page, live_server, "maya@example.com", DEMO_PASSWORD)
    too_wide = {}
    for path in PAGES:
        response = page.goto(f"{live_server}{path}")
        assert response.status == 200, path
        page.wait_for_load_state("load")
        page.wait_for_function(
            "document.querySelectorAll('[data-figure]').length"
            " === document.querySelectorAll('[data-drawn=yes]').length",
            timeout=20_000,
        )
        width, room = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if width > room:
            too_wide[path] = width
    assert too_wide == {}


def test_sprints_and_the_dashboards_days_read_as_stacked_rows_on_a_phone(
    live_server, new_page, shots, db_session
):
    """The sprints table and the dashboard's milestone days: no column cut off or scrolled
    away, each row a block that shows every value with its label."""
    install_demo(db_session, hash_method=factories.HASH)
    db_session.commit()
    page = new_page(width=390, height=844)
    sign_in(page, live_server, "maya@example.com", DEMO_PASSWORD)

    page.goto(f"{live_server}/projects/FRAUD/sprints")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    table = page.locator("table.sprints-table")
    # Nothing scrolls inside the table's box either: every cell is within the card.
    assert table.evaluate("t => t.parentElement.scrollWidth <= t.parentElement.clientWidth")
    expect(table.locator("thead")).to_be_hidden()
    sprint4 = table.locator("tbody tr", has_text="Sprint 4")
    expect(sprint4.locator(".sprint-dates")).to_have_text("Mon 30 Nov 2026 – Fri 11 Dec 2026")
    expect(sprint4.locator(".sprint-state")).to_have_text("Active")
    committed = sprint4.locator('td[data-label="Committed"]')
    expect(committed).to_be_visible()
    assert committed.evaluate("td => getComputedStyle(td, '::before').content") == '"Committed"'
    # Name and state share the first line; the dates sit under them.
    name_box = sprint4.locator(".sprint-name").bounding_box()
    state_box = sprint4.locator(".sprint-state").bounding_box()
    dates_box = sprint4.locator(".sprint-dates").bounding_box()
    assert abs(name_box["y"] - state_box["y"]) < 4
    assert dates_box["y"] >= name_box["y"] + name_box["height"] - 1
    shots.take(page, "sprints-phone")

    page.goto(f"{live_server}/projects/FRAUD/dashboard")
    expect(page.locator("[data-drawn=yes]")).to_have_count(4, timeout=20_000)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    days = page.locator("table.days-table")
    assert days.evaluate("t => t.parentElement.scrollWidth <= t.parentElement.clientWidth")
    pilot = days.locator("tbody tr", has_text="Pilot with fraud investigators")
    expect(pilot.locator('td[data-label="Days late"]')).to_have_text("+21")
    expect(pilot.locator('td[data-label="Promised"]')).to_have_text("Fri 22 Jan 2027")
    days.scroll_into_view_if_needed()
    shots.take(page, "dashboard-days-phone", full_page=False)
