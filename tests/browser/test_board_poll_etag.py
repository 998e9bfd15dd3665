"""The open board's poll sends back the ETag of its last refresh: a quiet board is answered 304
(nothing drawn again), and the next change still arrives and is drawn."""

from __future__ import annotations

from playwright.sync_api import expect

from planner.domain.context import load_context
from planner.domain.stories import update_story
from planner.timeutil import utcnow
from tests import factories
from tests.browser.conftest import sign_in
from tests.browser.test_board import board_setup, column


def poll(page):
    """Run the board's poll now; return the answer to its request."""
    with page.expect_response(lambda r: "/board/changes" in r.url) as answer:
        page.evaluate("() => window.realBoardPoll()")
    return answer.value


def test_a_quiet_board_is_answered_304_and_a_change_still_arrives(
    live_server, new_page, db_session, team
):
    train, _ = board_setup(db_session, team)
    page = new_page()
    sign_in(page, live_server, "helen@example.com", factories.PASSWORD)
    page.goto(f"{live_server}/projects/FRAUD/board")
    # The timer's polls stop (they call window.plannerBoardPoll): only ours run, in order.
    page.evaluate("() => { window.realBoardPoll = window.plannerBoardPoll; }")
    page.evaluate("() => { window.plannerBoardPoll = () => {}; }")
    first = poll(page)  # the page has no ETag yet: a full answer, and its ETag kept
    assert first.status == 200 and first.headers["etag"].startswith('W/"')
    quiet = poll(page)
    assert quiet.status == 304
    assert quiet.request.headers["if-none-match"] == first.headers["etag"]
    update_story(
        db_session,
        load_context(db_session, team.project),
        train,
        {"status": "review"},
        by=team.editor,
        now=utcnow(),
    )
    db_session.commit()
    changed = poll(page)
    assert changed.status == 200
    expect(column(page, "review").locator(f"#c{train.number}")).to_be_visible()
    assert poll(page).status == 304  # quiet again, with the new ETag
