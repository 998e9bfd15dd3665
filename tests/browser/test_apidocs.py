"""/api/docs draws the OpenAPI document with the vendored Swagger UI: without internet (every
request stays on planner's own host), under the strict Content-Security-Policy, and "Try it out"
works with the signed-in session (the CSRF header is added for writes)."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import sign_in
from tests.browser.test_csp import _violations, _watched_page


def test_the_api_reference_reads_offline_and_tries_calls(live_server, new_page, shots, team):
    problems: list[str] = []
    page = _watched_page(new_page, problems)
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    sign_in(page, live_server, "maya@example.com", factories.PASSWORD)
    page.goto(f"{live_server}/api/docs")
    expect(page.locator("h2.title")).to_contain_text("planner API")
    for tag in ("people", "projects", "stories", "sprints", "charts", "milestones"):
        expect(page.locator(f'.opblock-tag[data-tag="{tag}"]')).to_be_visible()
    shots.take(page, "reference")
    # Try GET /api/v1/me as the signed-in person.
    me = page.locator("#operations-people-get__api_v1_me")
    me.locator(".opblock-summary").click()
    me.get_by_role("button", name="Try it out").click()
    me.get_by_role("button", name="Execute").click()
    expect(me.locator(".live-responses-table .response .response-col_status")).to_contain_text(
        "200"
    )
    expect(me.locator(".live-responses-table .highlight-code")).to_contain_text("maya@example.com")
    shots.take(page, "tried")
    assert hosts == {urlsplit(live_server).netloc}, hosts
    assert _violations(page) == []
    assert problems == []


def test_a_token_typed_into_authorize_works_without_a_session(live_server, new_page, app, team):
    from planner.db import get_db
    from planner.domain.tokens import create_token
    from planner.timeutil import utcnow

    session = get_db(app).sessionmaker()
    try:
        _, secret = create_token(
            session, session.merge(team.editor), name="docs page", now=utcnow()
        )
        session.commit()
    finally:
        session.close()
    page = new_page()  # no sign-in: only the token
    page.goto(f"{live_server}/api/docs")
    page.get_by_role("button", name="Authorize").click()
    dialog = page.locator(".dialog-ux")
    bearer_box = dialog.locator(".auth-container").filter(has_text="Bearer")
    bearer_box.locator("input").first.fill(secret)
    bearer_box.locator(".auth-btn-wrapper .authorize").click()
    dialog.locator(".btn-done").first.click()
    me = page.locator("#operations-people-get__api_v1_me")
    me.locator(".opblock-summary").click()
    me.get_by_role("button", name="Try it out").click()
    me.get_by_role("button", name="Execute").click()
    expect(me.locator(".live-responses-table .response .response-col_status")).to_contain_text(
        "200"
    )
    expect(me.locator(".live-responses-table .highlight-code")).to_contain_text("docs page")
