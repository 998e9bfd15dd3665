"""Under the strict Content-Security-Policy (no inline styles, no inline scripts, nothing from
another host) every page draws its charts and works: the browser reports no violation and logs
no error, plotly's own rules apply from /assets/plotly.css, and what inline styles used to do
(the new project's key in capitals) a class of planner.css does."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import expect
from sqlalchemy import select

from planner.demo import DEMO_PASSWORD, SITE_ADMIN, install_demo
from planner.domain.sharing import create_share_link
from planner.models import Account, Project
from tests import factories
from tests.browser.conftest import sign_in

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e => {
  const where = (e.sourceFile || '') + ':' + e.lineNumber + ':' + e.columnNumber;
  const what = e.target && e.target.outerHTML ? e.target.outerHTML.slice(0, 200) : '';
  window.__violations.push([e.violatedDirective, e.blockedURI, where, e.sample, what].join(' '));
});
"""

SPRINT_4 = [
    "Sprint 4: burndown (points)",
    "Sprint 4: burnup (points)",
    "Sprint 4: cumulative flow",
    "Velocity: committed and completed per sprint",
    "Points by ML lifecycle stage per sprint",
    "Sprint 4: load by functional role",
]
TREND = "Milestone trend: forecasts over time"
SLIP = "Slip against the baseline"
HEAT = "Risk heat map (open risks per cell)"
DASHBOARD = [TREND, SLIP, "Sprint 4: burndown (points)", HEAT]
# Each page with charts and the titles its charts show, in page order (the demo project).
CHARTED = {
    "/projects/FRAUD/sprints/4": SPRINT_4,
    "/projects/FRAUD/reports": SPRINT_4,
    "/projects/FRAUD/dashboard": DASHBOARD,
    "/projects/FRAUD/milestones": [TREND, SLIP],
    "/projects/FRAUD/milestones/4": [TREND],
    "/projects/FRAUD/risks": [HEAT],
}


def _demo_with_a_share_link(db_session) -> str:
    install_demo(db_session, hash_method=factories.HASH)
    maya = db_session.scalar(select(Account).where(Account.email == SITE_ADMIN))
    fraud = db_session.scalar(select(Project).where(Project.key == "FRAUD"))
    _, token = create_share_link(
        db_session, fraud, "Steering group", by_id=maya.id, now=datetime.now(UTC)
    )
    db_session.commit()
    return token


def _watched_page(new_page, problems: list[str]):
    """A page recording policy violations, console errors and warnings, and script errors."""
    page = new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    page.on(
        "console",
        lambda m: (
            problems.append(f"{page.url} {m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"{page.url} script error: {error}"))
    return page


def _assert_charts_drawn(page, titles: list[str]) -> None:
    expect(page.locator("[data-drawn=yes]")).to_have_count(len(titles), timeout=20_000)
    plots = page.locator(".js-plotly-plot")
    for index, title in enumerate(titles):
        plot = plots.nth(index)
        # Plotly drew real SVG, with the figure's title in it.
        expect(plot.locator(".main-svg").first).to_be_visible()
        expect(plot.locator(".main-svg .gtitle")).to_have_text(title)
        # plotly.css is in force: its rule places the mode bar over the chart.
        assert (
            plot.locator(".modebar-container").evaluate("el => getComputedStyle(el).position")
            == "absolute"
        ), title


def _hover_every_chart(page) -> None:
    """Move over each chart and its mode bar: hover labels and button styles are drawn too."""
    plots = page.locator(".js-plotly-plot")
    for index in range(plots.count()):
        plot = plots.nth(index)
        plot.scroll_into_view_if_needed()
        box = plot.bounding_box()
        for share in (0.35, 0.5, 0.65):
            page.mouse.move(box["x"] + box["width"] * share, box["y"] + box["height"] * 0.55)
            page.wait_for_timeout(50)
        plot.locator(".modebar-btn").first.hover()


def _violations(page) -> list[str]:
    return page.evaluate("window.__violations")


def test_no_page_breaks_the_content_security_policy(live_server, new_page, shots, db_session):
    token = _demo_with_a_share_link(db_session)
    problems: list[str] = []
    page = _watched_page(new_page, problems)
    sign_in(page, live_server, SITE_ADMIN, DEMO_PASSWORD)
    for path, titles in CHARTED.items():
        page.goto(f"{live_server}{path}")
        _assert_charts_drawn(page, titles)
        _hover_every_chart(page)
        assert _violations(page) == [], path
        shots.take(page, "csp-" + path.strip("/").replace("/", "-"))

    for path in (
        "/projects/FRAUD/board",
        "/projects/FRAUD/backlog",
        "/projects/FRAUD/stories/1",
        "/projects/FRAUD/settings",
        "/projects/FRAUD/epics",
        "/projects/FRAUD/members",
        "/projects/FRAUD/share",
        "/admin/users",
    ):
        page.goto(f"{live_server}{path}")
        page.wait_for_load_state("networkidle")
        assert _violations(page) == [], path
        shots.take(page, "csp-" + path.strip("/").replace("/", "-"))

    # The board redraws a moved card from the server's HTML: still no inline style.
    page.goto(f"{live_server}/projects/FRAUD/board")
    card = page.locator('.board-list[data-status="todo"] .board-card').first
    card_id = card.get_attribute("id")
    card.focus()  # the page's one status form follows the focus into the card
    card.locator("[data-card-status]").select_option("in_progress")
    card.get_by_role("button", name="Move").click()
    expect(page.locator(f'.board-list[data-status="in_progress"] #{card_id}')).to_be_visible()
    assert _violations(page) == [], "a card moved on the board"

    # Anyone with the link sees the dashboard's charts under the same policy.
    public = _watched_page(new_page, problems)
    public.goto(f"{live_server}/share/{token}")
    _assert_charts_drawn(public, DASHBOARD)
    _hover_every_chart(public)
    assert _violations(public) == [], "the share page"
    shots.take(public, "csp-share")
    assert problems == []


def test_the_new_project_key_shows_in_capitals(live_server, new_page, shots, db_session):
    """The key field's capitals were an inline style, which the policy blocked without a word;
    they come from planner.css now."""
    _demo_with_a_share_link(db_session)
    problems: list[str] = []
    page = _watched_page(new_page, problems)
    sign_in(page, live_server, SITE_ADMIN, DEMO_PASSWORD)
    page.goto(f"{live_server}/projects/new")
    key = page.get_by_label("Key")
    key.fill("ml2")
    assert key.evaluate("el => getComputedStyle(el).textTransform") == "uppercase"
    shots.take(page, "csp-new-project")
    assert _violations(page) == []
    assert problems == []


def test_a_chart_downloads_as_a_png(live_server, new_page, db_session):
    """The mode bar's camera draws the chart into an image from a blob: URL; the policy allows
    that (img-src blob:), otherwise the button silently does nothing."""
    _demo_with_a_share_link(db_session)
    problems: list[str] = []
    page = _watched_page(new_page, problems)
    sign_in(page, live_server, SITE_ADMIN, DEMO_PASSWORD)
    page.goto(f"{live_server}/projects/FRAUD/risks")
    _assert_charts_drawn(page, [HEAT])
    page.locator(".js-plotly-plot").hover()
    with page.expect_download(timeout=15_000) as download:
        page.locator('.modebar-btn[data-title="Download plot as a PNG"]').click()
    assert download.value.suggested_filename.endswith(".png")
    with open(download.value.path(), "rb") as image:
        assert image.read(8) == b"\x89PNG\r\n\x1a\n"
    assert _violations(page) == []
    assert problems == []
