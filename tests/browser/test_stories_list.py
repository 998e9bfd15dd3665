"""The Stories list in a browser: a filter applies as soon as it changes (and stays in the
URL), a manager saves it as a view, and the coloured label chips; laptop, phone, dark mode."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from playwright.sync_api import expect

from planner.domain.labels import set_colour, set_labels
from planner.models import Label
from tests import factories
from tests.browser.conftest import sign_in


def _seed(db_session, team) -> None:
    sprint = factories.sprint(
        db_session,
        team.project,
        "Sprint 1",
        date(2026, 3, 2),
        date(2026, 3, 13),
        state="active",
        started_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
    )
    rows = [
        ("Consent audit for card data", "data_collection", ["gdpr", "legal"]),
        ("Mask card numbers in the feature store", "data_preparation", ["gdpr"]),
        ("Label batch 7: 1,000 transactions", "data_labeling", ["needs-data"]),
        ("Train gradient-boosted baseline", "modeling", []),
    ]
    for title, stage, labels in rows:
        story = factories.story(
            db_session, team.project, team.editor, title=title, stage=stage, sprint=sprint.id
        )
        set_labels(db_session, story, labels)
    colours = {"gdpr": "#c62828", "needs-data": "#f2c94c", "legal": "#4527a0"}
    for label in db_session.query(Label).filter_by(project_id=team.project.id):
        set_colour(db_session, label, colours[label.name])
    db_session.commit()


def test_filter_by_label_and_save_the_view(live_server, new_page, shots, db_session, team):
    _seed(db_session, team)
    page = new_page(width=1280, height=800)
    sign_in(page, live_server, "maya@example.com", factories.PASSWORD)
    page.goto(f"{live_server}/projects/FRAUD")
    rows = page.locator(".story-row")
    expect(rows).to_have_count(4)
    expect(page.get_by_role("button", name="Apply")).to_be_hidden()  # filters apply at once

    page.locator("#f-label").select_option("gdpr")
    expect(page).to_have_url(re.compile(r"/projects/FRAUD\?.*label=gdpr"))
    expect(rows).to_have_count(2)
    chip = page.locator(".story-row .chip.label", has_text="gdpr").first
    expect(chip).to_have_css("background-color", "rgb(198, 40, 40)")  # #c62828
    expect(chip).to_have_css("color", "rgb(255, 255, 255)")
    shots.take(page, "filtered-laptop")

    page.get_by_label("Save this filter as a view").fill("GDPR work")
    page.get_by_role("button", name="Save view").click()
    expect(page.get_by_text("View “GDPR work” saved; everyone in FRAUD sees it.")).to_be_visible()
    views = page.get_by_role("navigation", name="Saved views")
    expect(views.get_by_role("link", name="GDPR work")).to_have_attribute("aria-current", "page")

    views.get_by_role("link", name="All open").click()
    expect(rows).to_have_count(4)
    views.get_by_role("link", name="GDPR work").click()
    expect(rows).to_have_count(2)
    expect(page.locator("#f-label")).to_have_value("gdpr")
    shots.take(page, "saved-view-laptop")

    # The same label filter on the board and the backlog, with the same chips.
    page.goto(f"{live_server}/projects/FRAUD/board")
    page.locator("#b-label").select_option("gdpr")
    expect(page).to_have_url(re.compile(r"/board\?.*label=gdpr"))
    expect(page.locator(".board-card")).to_have_count(2)
    expect(page.locator(".board-card .chip.label", has_text="legal")).to_have_css(
        "background-color",
        "rgb(69, 39, 160)",  # #4527a0
    )
    shots.take(page, "board-laptop")
    page.goto(f"{live_server}/projects/FRAUD/backlog?label=needs-data")
    expect(page.locator(".backlog-row")).to_have_count(1)
    expect(page.locator(".backlog-row .chip.label", has_text="needs-data")).to_have_css(
        "color",
        "rgb(26, 26, 26)",  # dark text on yellow
    )
    shots.take(page, "backlog-laptop")

    page.goto(f"{live_server}/projects/FRAUD?stage=nope")
    expect(page.get_by_text("FRAUD has no stage 'nope'.")).to_be_visible()
    expect(rows).to_have_count(4)


def test_phone_and_dark_mode(live_server, browser, shots, db_session, team):
    _seed(db_session, team)
    from tests.factories import PASSWORD

    for scheme in ("light", "dark"):
        context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme=scheme)
        try:
            page = context.new_page()
            page.set_default_timeout(10_000)
            sign_in(page, live_server, "maya@example.com", PASSWORD)
            page.goto(f"{live_server}/projects/FRAUD")
            panel = page.locator("details.filters-panel")
            expect(panel).not_to_have_attribute("open", "")  # folded away on a phone
            page.get_by_text("Filters", exact=True).click()
            page.locator("#f-label").select_option("gdpr")
            expect(page.locator(".story-row")).to_have_count(2)
            expect(panel).to_have_attribute("open", "")  # kept open while a filter is on
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
            shots.take(page, f"phone-{scheme}")
            page.goto(f"{live_server}/projects/FRAUD/labels")
            shots.take(page, f"labels-page-phone-{scheme}")
        finally:
            context.close()


def test_the_stories_list_moves_with_j_and_k_and_opens_with_enter(
    live_server, new_page, db_session, team
):
    _seed(db_session, team)
    db_session.commit()
    page = new_page(width=1280, height=800)
    sign_in(page, live_server, "priya@example.com", factories.PASSWORD)
    page.goto(f"{live_server}/projects/FRAUD")
    expect(page.get_by_text("Press ? for keyboard shortcuts.")).to_be_visible()
    # The list runs by stage: collection (FRAUD-1), labeling (FRAUD-3), preparation (FRAUD-2),
    # modeling (FRAUD-4).
    page.keyboard.press("j")
    expect(page.locator("#s1")).to_be_focused()
    page.keyboard.press("j")
    expect(page.locator("#s3")).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(page.locator("#s3")).to_be_focused()
    page.keyboard.press("?")
    expect(page.get_by_role("dialog")).to_contain_text("Next / previous story")
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/projects/FRAUD/stories/3$"))
