"""A signed-in person presses "/", types part of a story's title, submits, sees the words found
marked in the results and opens the story; Ctrl-K does the same, except while typing in a field.
Screenshots of the results on a laptop and a phone, light and dark."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from playwright.sync_api import expect

from planner.models import Comment, Risk
from tests import factories
from tests.browser.conftest import follow, sign_in

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def seed(db_session, team) -> None:
    project = team.project
    factories.story(
        db_session,
        project,
        team.editor,
        title="Feature drift monitor for the card scoring model",
        description="Alert the on-call data scientist when the PSI of any feature passes 0.2 "
        "for two days running; link the drift report in the alert.",
    )
    retrain = factories.story(
        db_session,
        project,
        team.editor,
        title="Retrain weekly on fresh chargebacks",
        description="Schedule the retraining job and compare it with the champion when drift "
        "is detected.",
    )
    db_session.add(
        Comment(
            story_id=retrain.id,
            author_id=team.manager.id,
            body="Ops saw score drift on merchant category 5411 last week; worth a look first.",
        )
    )
    db_session.add(
        Risk(
            project_id=project.id,
            title="Concept drift after the holiday season",
            description="Spending patterns change in December; the model may over-alert.",
            category="model_drift",
            likelihood=3,
            impact=3,
            status="open",
            review_on=date(2026, 3, 20),
            created_at=NOW,
            updated_at=NOW,
        )
    )
    db_session.commit()


def test_slash_focuses_search_and_a_result_opens_the_story(
    live_server, db_session, team, new_page, shots
):
    seed(db_session, team)
    page = new_page(1280, 800)
    sign_in(page, live_server, "priya@example.com", factories.PASSWORD)
    box = page.get_by_role("search", name="Site search").get_by_label("Search your projects")
    expect(box).not_to_be_focused()
    page.keyboard.press("/")
    expect(box).to_be_focused()
    expect(box).to_have_value("")  # the "/" itself is not typed into the box
    page.keyboard.type("drift monitor")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=drift\+monitor$"))
    hits = page.locator(".search-hit")
    expect(hits).to_have_count(1)
    title = hits.first.get_by_role("link")
    expect(title).to_have_text("Feature drift monitor for the card scoring model")
    expect(title.locator("mark")).to_have_text(["drift", "monitor"])

    page.goto(f"{live_server}/search?q=drift")
    expect(page.locator(".search-hit")).to_have_count(4)
    expect(page.locator(".search-hit mark").first).to_have_text(re.compile("drift", re.I))
    shots.take(page, "results-laptop")
    page.emulate_media(color_scheme="dark")
    shots.take(page, "results-laptop-dark")
    page.emulate_media(color_scheme="light")

    follow(page, page.get_by_role("link", name="Feature drift monitor for the card scoring model"))
    expect(page).to_have_url(re.compile(r"/projects/FRAUD/stories/1$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Feature drift monitor")

    # Ctrl-K works too, but not while typing in a field: there the keys are the person's.
    page.keyboard.press("Control+k")
    expect(box).to_be_focused()
    comment = page.get_by_label("Add a comment")
    comment.click()
    comment.press_sequentially("a/b")
    expect(comment).to_have_value("a/b")
    expect(comment).to_be_focused()


def test_search_results_on_a_phone(live_server, db_session, team, new_page, shots):
    seed(db_session, team)
    page = new_page(390, 844)
    sign_in(page, live_server, "helen@example.com", factories.PASSWORD)
    box = page.get_by_role("search", name="Site search").get_by_label("Search your projects")
    box.fill("drift")
    box.press("Enter")
    expect(page.locator(".search-hit")).to_have_count(4)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # nothing runs off the side
    shots.take(page, "results-phone")
    page.emulate_media(color_scheme="dark")
    shots.take(page, "results-phone-dark")
    page.emulate_media(color_scheme="light")
    box = page.get_by_role("search", name="Site search").get_by_label("Search your projects")
    box.fill("fraud-2")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/projects/FRAUD/stories/2$"))
