"""No page scrolls sideways on a phone: every main page of the demo fits 390 pixels (wide
tables and the board's columns scroll inside their own boxes instead)."""

from __future__ import annotations

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
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            too_wide[path] = width
    assert too_wide == {}
