"""Issue 14's first "done when", end to end as a team member would do it: press "/", type part of
a story's title, open the story from the results, set its points in place, move it with the
keyboard and undo the move. The database says what the page said."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from planner.models import Story, StoryEvent
from tests import factories
from tests.browser.conftest import follow, sign_in


def test_find_estimate_move_and_undo_from_the_keyboard(
    live_server, new_page, shots, db_session, team
):
    factories.story(db_session, team.project, team.manager, title="Profile the chargeback table")
    story = factories.story(
        db_session, team.project, team.manager, title="Backfill merchant category codes"
    )
    db_session.commit()

    page = new_page(width=1280, height=800)
    sign_in(page, live_server, "priya@example.com", factories.PASSWORD)
    page.goto(f"{live_server}/projects/FRAUD/board")
    page.keyboard.press("/")
    box = page.get_by_role("search", name="Site search").get_by_label("Search your projects")
    expect(box).to_be_focused()
    page.keyboard.type("merchant category")
    page.keyboard.press("Enter")
    hit = page.locator(".search-hit").first
    expect(hit.get_by_role("link")).to_have_text("Backfill merchant category codes")
    follow(page, hit.get_by_role("link"))
    expect(page).to_have_url(re.compile(rf"/projects/FRAUD/stories/{story.number}$"))

    # Points in place: the chip becomes a choice, saved with the story's version.
    bar = page.locator("[data-quickbar]")
    bar.locator('[data-quick="points"]').click()
    bar.get_by_label(f"Points of FRAUD-{story.number}", exact=True).select_option("3")
    expect(bar.locator('[data-quick="points"]')).to_have_text("3")

    # Move it with the keyboard: 2 is In progress; the toast offers the undo.
    page.keyboard.press("2")
    expect(bar.locator('[data-quick="status"]')).to_have_text("In progress")
    toast = page.locator("[data-undo-toast]")
    expect(toast).to_contain_text(f"FRAUD-{story.number} moved to In progress.")
    shots.take(page, "moved", full_page=False)
    toast.get_by_role("button", name="Undo").click()
    expect(bar.locator('[data-quick="status"]')).to_have_text("To do")

    page.reload()
    expect(page.locator("[data-quickbar] [data-quick='status']")).to_have_text("To do")
    expect(page.locator("[data-quickbar] [data-quick='points']")).to_have_text("3")
    shots.take(page, "after-undo", full_page=False)

    db_session.expire_all()
    saved = db_session.get(Story, story.id)
    assert (saved.status, saved.points) == ("todo", 3)
    # History is append-only: the move and its undo are both recorded.
    moves = db_session.scalars(
        select(StoryEvent.to_value)
        .where(StoryEvent.story_id == story.id, StoryEvent.field == "status")
        .order_by(StoryEvent.id)
    ).all()
    assert moves[-2:] == ["in_progress", "todo"]
