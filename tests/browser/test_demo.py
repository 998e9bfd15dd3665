"""A new user signs in with the printed demo account and sees the demo ML project by stage."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from planner.demo import DEMO_PASSWORD, install_demo
from tests import factories
from tests.browser.conftest import sign_in


def test_sign_in_with_the_demo_account_and_see_the_demo_project(
    live_server, new_page, shots, db_session
):
    install_demo(db_session, hash_method=factories.HASH)
    db_session.commit()
    page = new_page()
    sign_in(page, live_server, "maya@example.com", DEMO_PASSWORD)
    expect(page.get_by_role("heading", name="Your projects")).to_be_visible()
    card = page.locator("article", has_text="Card fraud detection")
    expect(card.get_by_text("Sprint 4")).to_be_visible()  # the active sprint, running today
    shots.take(page, "projects")

    card.get_by_role("link", name="Card fraud detection").click()
    expect(page.get_by_role("heading", name="Stories by ML stage")).to_be_visible()
    headings = page.locator("section.stage-section h2").all_inner_texts()
    assert [h.split("\n")[0] for h in headings[:8]] == [
        "Problem framing",
        "Data collection",
        "Data labeling",
        "Data preparation & features",
        "Modeling & training",
        "Evaluation",
        "Deployment",
        "Monitoring & maintenance",
    ]
    labeling = page.locator("section", has=page.locator("#stage-data_labeling"))
    # Done stories are hidden by default: the demo's labeling stage has 2 open stories left.
    expect(labeling.locator(".story-row")).to_have_count(2)
    expect(page.get_by_text("done stories hidden")).to_be_visible()
    shots.take(page, "stories-by-stage")

    phone = new_page(width=390, height=844)
    sign_in(phone, live_server, "helen@example.com", DEMO_PASSWORD)
    phone.goto(f"{live_server}/projects/FRAUD")
    expect(phone.get_by_role("heading", name="Stories by ML stage")).to_be_visible()
    expect(phone.get_by_role("button", name="Add story")).to_have_count(0)
    shots.take(phone, "phone-stakeholder")
    assert re.search(r"\d+ of \d+ stories · done stories hidden", phone.content())
