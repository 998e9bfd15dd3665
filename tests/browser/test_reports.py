"""A stakeholder opens the sprint report: the burndown is drawn with its traces, all six charts
are there, and nothing is fetched from another host."""

from __future__ import annotations

from playwright.sync_api import expect

from planner.demo import DEMO_PASSWORD, install_demo
from tests import factories
from tests.browser.conftest import sign_in


def test_the_sprint_report_draws_every_chart(live_server, new_page, shots, db_session):
    install_demo(db_session, hash_method=factories.HASH)
    db_session.commit()
    page = new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server, "helen@example.com", DEMO_PASSWORD)
    page.goto(f"{live_server}/projects/FRAUD/sprints")
    page.get_by_role("link", name="Sprint 3").click()
    expect(page.get_by_role("heading", name="Sprint 3", exact=True)).to_be_visible()
    burndown = page.locator('[data-figure="figure-burndown"]')
    expect(burndown).to_have_attribute("data-drawn", "yes", timeout=20_000)
    names = burndown.evaluate("el => el.data.map(trace => trace.name)")
    assert names == ["Ideal", "Remaining", "Scope change"]
    points = burndown.evaluate("el => el.data[1].y")
    # The commitment, then nine sprint days: Sprint 3 starts on a holiday (Rosenmontag).
    assert points[0] == 38 and len(points) == 10
    assert burndown.locator("svg .scatterlayer .trace").count() == 3
    expect(page.locator("[data-drawn=yes]")).to_have_count(6, timeout=20_000)
    shots.take(page, "sprint-report")
    assert errors == []
    assert all(url.startswith(live_server) for url in requests), [
        url for url in requests if not url.startswith(live_server)
    ]

    page.goto(f"{live_server}/projects/FRAUD/reports")
    expect(page.locator("[data-drawn=yes]")).to_have_count(6, timeout=20_000)
    page.locator(".unit-switch").get_by_role("link", name="Stories").click()
    expect(page.locator('[data-figure="figure-burndown"]')).to_have_attribute("data-drawn", "yes")
    assert "unit=stories" in page.locator("#chart-burndown a[download]").get_attribute("href")
    title = page.locator('[data-figure="figure-burndown"]').evaluate("el => el.layout.title.text")
    assert title == "Sprint 4: burndown (stories)"
    shots.take(page, "project-reports-stories")
