"""A scrum master moves a Jira backlog in: uploads the Cloud export from the project's settings,
reads the preview, sends "In Review" to In progress instead, imports, and finds the backlog, the
epics and the active sprint as they were; the same file again would change nothing."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import sign_in

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "jira" / "cloud.csv"


def test_a_manager_imports_a_jira_export_from_the_settings(
    live_server, db_session, team, new_page, shots
):
    page = new_page()
    sign_in(page, live_server, "maya@example.com", factories.PASSWORD)
    page.goto(f"{live_server}/projects/FRAUD/settings")
    page.get_by_role("link", name="Import from Jira").click()
    page.get_by_label("Jira site's timezone").fill("Europe/Berlin")
    page.get_by_label("Jira CSV file").set_input_files(str(FIXTURE))
    shots.take(page, "upload", full_page=False)
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.get_by_role("heading", name="Preview: cloud.csv")).to_be_visible()
    counts = page.locator(".count-grid")
    expect(counts).to_contain_text("12new stories")
    expect(counts).to_contain_text("2new epics")
    expect(counts).to_contain_text("3new sprints")
    problems = page.get_by_role("region", name=re.compile("Problems"))
    expect(problems).to_contain_text("“lots” is not a number of points")
    shots.take(page, "preview")

    page.get_by_label("planner status for In Review").select_option("in_progress")
    page.get_by_role("button", name="Update the preview").click()
    expect(page.get_by_label("planner status for In Review")).to_have_value("in_progress")
    expect(page.get_by_role("row", name=re.compile("In Review"))).to_contain_text("your choice")
    page.get_by_role("button", name=re.compile(r"Import 12 stories and 2 epics")).click()

    expect(page).to_have_url(f"{live_server}/projects/FRAUD/backlog")
    expect(page.locator(".flash").first).to_contain_text("Stories: 12 new, 0 changed, 0 unchanged.")
    expect(page.get_by_role("heading", name="FRAUD Sprint 3 (active)")).to_be_visible()
    shots.take(page, "backlog")

    # FRAUD-12 kept its Jira number; its page says where it came from.
    page.goto(f"{live_server}/projects/FRAUD/stories/12")
    expect(
        page.get_by_role("heading", name="Export batch 7 disagreements for review")
    ).to_be_visible()
    expect(page.get_by_text("Imported from Jira")).to_be_visible()

    # The same file again: the preview says nothing would change.
    page.goto(f"{live_server}/projects/FRAUD/import")
    page.get_by_label("Jira CSV file").set_input_files(str(FIXTURE))
    page.get_by_label("Jira site's timezone").fill("Europe/Berlin")
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_text("Nothing would change")).to_be_visible()

    phone = new_page(390, 844)
    sign_in(phone, live_server, "maya@example.com", factories.PASSWORD)
    phone.goto(page.url)
    expect(phone.get_by_role("heading", name="Preview: cloud.csv")).to_be_visible()
    shots.take(phone, "preview-phone", full_page=False)
