"""A team member signs in, adds a story from the project page and edits it."""

from __future__ import annotations

from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import sign_in


def test_sign_in_add_a_story_and_edit_it(live_server, new_page, shots, db_session, team):
    factories.story(
        db_session,
        team.project,
        team.editor,
        title="Write labeling guidelines",
        stage="data_labeling",
        points=5,
    )
    db_session.commit()
    page = new_page()

    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("priya@example.com")
    page.get_by_label("Password", exact=True).fill("not my password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("That email and password do not match an account.")).to_be_visible()
    shots.take(page, "wrong-password")

    sign_in(page, live_server, "priya@example.com", factories.PASSWORD)
    expect(page.get_by_role("heading", name="Your projects")).to_be_visible()
    page.get_by_role("link", name="Card fraud detection").click()
    expect(page.get_by_role("heading", name="Stories by ML stage")).to_be_visible()

    page.get_by_label("New story").fill("Labeling batch 1: 1,000 transactions")
    quick = page.locator("form.quick-create")  # the list's filters have a Stage field too
    quick.get_by_label("Stage", exact=True).select_option("data_labeling")
    quick.get_by_label("Points", exact=True).select_option("8")
    page.get_by_role("button", name="Add story").click()
    expect(page.get_by_text("FRAUD-2 created.")).to_be_visible()
    labeling = page.locator("section", has=page.locator("#stage-data_labeling"))
    expect(labeling.get_by_text("Labeling batch 1: 1,000 transactions")).to_be_visible()
    expect(labeling.get_by_text("2 stories · 13 pts")).to_be_visible()
    shots.take(page, "project-page")

    page.get_by_role("link", name="Labeling batch 1: 1,000 transactions").click()
    page.get_by_label("Status", exact=True).select_option("in_progress")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("FRAUD-2 saved.")).to_be_visible()
    expect(page.get_by_text("moved this from To do to In progress")).to_be_visible()
    shots.take(page, "story-history")


def test_a_view_member_reads_but_gets_no_controls(live_server, new_page, shots, db_session, team):
    factories.story(db_session, team.project, team.editor, title="Train baseline", stage="modeling")
    db_session.commit()
    page = new_page(width=390, height=844)
    sign_in(page, live_server, "helen@example.com", factories.PASSWORD)
    page.goto(f"{live_server}/projects/FRAUD")
    expect(page.get_by_text("Train baseline")).to_be_visible()
    expect(page.get_by_role("button", name="Add story")).to_have_count(0)
    page.get_by_role("link", name="Train baseline").click()
    expect(page.get_by_text("You have view access")).to_be_visible()
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    shots.take(page, "phone-story-read-only")
