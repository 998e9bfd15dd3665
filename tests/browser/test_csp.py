"""Under the strict Content-Security-Policy (no inline styles, no inline scripts, nothing from
another host) every page draws its charts and works: the browser reports no violation."""

from __future__ import annotations

from playwright.sync_api import expect

from planner.demo import DEMO_PASSWORD, install_demo
from tests import factories
from tests.browser.conftest import sign_in

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e => {
  const where = (e.sourceFile || '') + ':' + e.lineNumber + ':' + e.columnNumber;
  const what = e.target && e.target.outerHTML ? e.target.outerHTML.slice(0, 200) : '';
  window.__violations.push([e.violatedDirective, e.blockedURI, where, what].join(' '));
});
"""


def test_no_page_breaks_the_content_security_policy(live_server, new_page, shots, db_session):
    install_demo(db_session, hash_method=factories.HASH)
    db_session.commit()
    page = new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    console: list[str] = []
    page.on(
        "console",
        lambda m: console.append(m.text) if "Content Security Policy" in m.text else None,
    )
    sign_in(page, live_server, "maya@example.com", DEMO_PASSWORD)
    charted = {
        "/projects/FRAUD/reports": 6,
        "/projects/FRAUD/dashboard": 4,
        "/projects/FRAUD/milestones": 2,
        "/projects/FRAUD/risks": 1,
    }
    for path, charts in charted.items():
        page.goto(f"{live_server}{path}")
        expect(page.locator("[data-drawn=yes]")).to_have_count(charts, timeout=20_000)
        # Plotly drew real SVG with the figure's title in it.
        assert page.locator(".main-svg .gtitle").count() >= charts
        assert page.evaluate("window.__violations") == [], (
            path,
            page.evaluate("window.__violations"),
        )
        shots.take(page, path.strip("/").replace("/", "-"))
    for path in ("/projects/FRAUD/board", "/projects/FRAUD/backlog", "/projects/FRAUD/stories/1"):
        page.goto(f"{live_server}{path}")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__violations") == [], (
            path,
            page.evaluate("window.__violations"),
        )
        shots.take(page, path.strip("/").replace("/", "-"))
    assert console == []
