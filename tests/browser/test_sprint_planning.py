"""A scrum master plans a sprint from the backlog, sees one role over-committed, fixes it, starts
the sprint, and later closes it with carry-over; drag and drop reorders the backlog for real."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from planner.domain.backlog import section_of
from planner.models import Story
from tests import factories
from tests.browser.conftest import sign_in


def test_plan_start_and_close_a_sprint(live_server, new_page, shots, db_session, team):
    kemal = factories.account(db_session, "kemal@example.com", "Kemal Yilmaz")
    chen = factories.account(db_session, "chen@example.com", "Chen Li")
    factories.member(db_session, team.project, kemal, "edit", ["annotator"])
    factories.member(db_session, team.project, chen, "edit", ["ml_engineer", "annotator"])
    for title, role, points in [
        ("Labeling batch 1: 1,000 transactions", "annotator", 8),
        ("Labeling batch 2: 1,000 transactions", "annotator", 5),
        ("Train a LightGBM baseline", "ml_engineer", 3),
        ("Profile the chargeback table", "data_engineer", 2),
    ]:
        factories.story(
            db_session, team.project, team.manager, title=title, role=role, points=points
        )
    db_session.commit()

    page = new_page()
    sign_in(page, live_server, "maya@example.com", factories.PASSWORD)
    page.goto(f"{live_server}/projects/FRAUD/sprints")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Sprint 1")
    page.get_by_label("Goal").fill("Two labeling batches and a first baseline")
    page.get_by_role("button", name="Create and plan it").click()
    expect(page.get_by_role("heading", name="Plan Sprint 1")).to_be_visible()

    # Pick three stories from the backlog.
    for number in (1, 2, 3):
        page.get_by_label(f"Select FRAUD-{number}").check()
    page.get_by_role("button", name="Add ticked stories to Sprint 1").click()
    expect(page.get_by_text("Moved 3 stories to Sprint 1.")).to_be_visible()

    # Capacity: Kemal 6, Chen 6, Priya 5. Annotator work needs 8 + 5 = 13 points; Kemal and Chen
    # (who also labels) have 12: one role over by 1, while the sprint total (16) fits 17.
    page.get_by_label("Kemal Yilmaz").fill("6")
    page.get_by_label("Chen Li").fill("6")
    page.get_by_label("Priya Raman").fill("5")
    page.get_by_label("Maya Okafor").fill("")
    page.get_by_role("button", name="Save capacity").click()
    verdict = page.locator("[data-verdict]")
    # The total fits, so the headline names the overloaded role rather than crying over-committed.
    expect(
        verdict.get_by_role(
            "heading", name="Fits the team, but 1 role is overloaded: Annotator / labeler"
        )
    ).to_be_visible()
    expect(verdict).to_contain_text(
        "Annotator / labeler: the stories need 13 points, the members holding that role have 12"
    )
    expect(verdict).to_contain_text("over by 1")
    expect(verdict).not_to_contain_text("Overall")
    shots.take(page, "role-overloaded")

    # Fix it: Kemal can give one more point.
    page.get_by_label("Kemal Yilmaz").fill("7")
    page.get_by_role("button", name="Save capacity").click()
    expect(verdict.get_by_role("heading", name="The plan fits the team's capacity")).to_be_visible()
    shots.take(page, "fits")

    page.get_by_role("link", name="Start sprint…").click()
    expect(
        page.get_by_role("heading", name="The commitment: 16 points in 3 stories")
    ).to_be_visible()
    page.get_by_role("button", name="Start Sprint 1 with 16 points").click()
    expect(page.get_by_text("Sprint 1 started.")).to_be_visible()
    expect(page.locator(".summary-grid")).to_contain_text("Committed16 pts3 stories at the start")

    # Later: batch 1 is done.
    page.goto(f"{live_server}/projects/FRAUD/stories/1")
    page.get_by_label("Status", exact=True).select_option("done")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("FRAUD-1 saved.")).to_be_visible()

    # Close with carry-over: batch 2 to the next sprint, the baseline back to the backlog.
    page.goto(f"{live_server}/projects/FRAUD/sprints")
    page.get_by_role("link", name="Sprint 1").first.click()
    page.get_by_role("link", name="Close sprint…").click()
    expect(page.get_by_role("heading", name="2 unfinished stories")).to_be_visible()
    page.locator("tr", has_text="Train a LightGBM baseline").get_by_label(
        "Top of the backlog"
    ).check()
    shots.take(page, "close")
    page.get_by_role("button", name="Close Sprint 1 with these choices").click()
    expect(
        page.get_by_text(
            "Sprint 1 closed. 1 carried over to Sprint 2. 1 back at the top of the backlog."
        )
    ).to_be_visible()
    summary = page.locator(".summary-grid")
    expect(summary).to_contain_text("Completed8 pts1 story")
    expect(summary).to_contain_text("Carried over8 pts2 stories")
    shots.take(page, "closed-summary")

    page.goto(f"{live_server}/projects/FRAUD/backlog")
    expect(page.locator(".backlog-section", has_text="Sprint 2 (planned)")).to_contain_text(
        "Labeling batch 2"
    )
    backlog = page.locator(".backlog-section", has=page.locator("#sec-backlog"))
    expect(backlog.locator(".backlog-row").first).to_contain_text("Train a LightGBM baseline")

    phone = new_page(width=390, height=844)
    sign_in(phone, live_server, "maya@example.com", factories.PASSWORD)
    phone.goto(f"{live_server}/projects/FRAUD/backlog")
    shots.take(phone, "phone-backlog")


def test_dragging_a_story_reorders_the_backlog(live_server, new_page, shots, db_session, team):
    for title in ("First", "Second", "Third"):
        factories.story(db_session, team.project, team.manager, title=title)
    db_session.commit()
    page = new_page()
    sign_in(page, live_server, "maya@example.com", factories.PASSWORD)
    page.goto(f"{live_server}/projects/FRAUD/backlog")
    rows = page.locator(".backlog-section:has(#sec-backlog) .backlog-row")
    expect(rows).to_have_count(3)
    page.locator("#s3 .drag-handle").drag_to(page.locator("#s1 .drag-handle"))
    expect(page.locator("[data-backlog-status]")).to_have_text("FRAUD-3 moved.")
    page.reload()
    titles = page.locator(
        ".backlog-section:has(#sec-backlog) .backlog-row .title a"
    ).all_inner_texts()
    assert titles == ["Third", "First", "Second"]
    db_session.expire_all()
    first = db_session.scalar(select(Story).where(Story.number == 1))
    assert [s.title for s in section_of(db_session, first)] == ["Third", "First", "Second"]
    shots.take(page, "after-drag")
