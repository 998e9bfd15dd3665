"""A team member's session ends while they edit a story (they signed out in another tab): they
press Save, sign in again on the page that appears, and send their text without retyping it."""

from __future__ import annotations

from playwright.sync_api import expect

from planner.models import Account, Story
from planner.models.account import new_session_token
from tests import factories
from tests.browser.conftest import sign_in


def test_an_edit_survives_the_end_of_the_session(live_server, new_page, shots, db_session, team):
    story = factories.story(db_session, team.project, team.editor, title="Label batch 2")
    db_session.commit()
    page = new_page()
    sign_in(page, live_server, "priya@example.com", factories.PASSWORD)
    page.goto(f"{live_server}/projects/FRAUD/stories/{story.number}")
    page.get_by_label("Title", exact=True).fill("Label batch 2 with the new guideline")
    page.get_by_label("Description").fill("Kappa was 0.74 on batch 1.\nRe-label the 120 disputed.")

    # Meanwhile the session ends on the server (signed out elsewhere).
    db_session.get(Account, team.editor.id).session_token = new_session_token()
    db_session.commit()

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your session ended before your changes were saved.")).to_be_visible()
    shots.take(page, "sign-in-again")
    page.get_by_label("Email").fill("priya@example.com")
    page.get_by_label("Password", exact=True).fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Send your changes again")).to_be_visible()
    expect(page.get_by_text("Label batch 2 with the new guideline")).to_be_visible()
    shots.take(page, "send-again")
    page.get_by_role("button", name="Send my changes").click()
    expect(page.get_by_text("FRAUD-1 saved.")).to_be_visible()

    db_session.expire_all()
    saved = db_session.get(Story, story.id)
    assert saved.title == "Label batch 2 with the new guideline"
    assert saved.description.replace("\r\n", "\n") == (
        "Kappa was 0.74 on batch 1.\nRe-label the 120 disputed."
    )
