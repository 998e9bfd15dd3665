"""A team member types "@" and picks the stakeholder from the suggestions; the stakeholder sees
the bell count, opens the inbox, follows the line to the comment and answers it; the e-mail
arrives at a real SMTP server."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from planner.delivery.worker import Worker
from tests import factories
from tests.browser.conftest import sign_in


def test_a_mention_picked_from_suggestions_reaches_the_stakeholders_bell(
    app, live_server, db_session, team, new_page, shots, smtp_server
):
    app.config.update(SMTP_URL=smtp_server.url, BASE_URL=live_server)
    factories.story(db_session, team.project, team.manager, title="DPIA scope for the pilot")
    db_session.commit()

    priya = new_page()
    sign_in(priya, live_server, "priya@example.com", factories.PASSWORD)
    priya.goto(f"{live_server}/projects/FRAUD/stories/1")
    box = priya.get_by_label("Add a comment")
    box.click()
    box.press_sequentially("Does legal need this? @hel")
    suggestions = priya.get_by_role("listbox", name="Members to mention")
    expect(suggestions).to_be_visible()
    expect(suggestions.get_by_role("option")).to_have_count(1)
    expect(suggestions.get_by_role("option").first).to_have_text("@helen Helen Brooks")
    shots.take(priya, "suggestions", full_page=False)
    box.press("Enter")
    expect(box).to_have_value("Does legal need this? @helen ")
    expect(suggestions).to_be_hidden()
    priya.get_by_role("button", name="Comment", exact=True).click()
    expect(priya.locator(".comment").first).to_contain_text("Does legal need this? @helen")

    Worker(app).run_once()

    helen = new_page(390, 844)  # on her phone
    sign_in(helen, live_server, "helen@example.com", factories.PASSWORD)
    bell = helen.get_by_role("link", name=re.compile("Notifications"))
    expect(bell).to_contain_text("1")
    bell.click()
    line = helen.get_by_role("button", name=re.compile("Priya Raman mentioned you on FRAUD-1"))
    expect(line).to_be_visible()
    shots.take(helen, "inbox-phone")
    line.click()
    expect(helen).to_have_url(re.compile(r"/projects/FRAUD/stories/1#comment-\d+$"))
    expect(helen.get_by_role("link", name=re.compile("Notifications"))).not_to_contain_text("1")
    helen.get_by_label("Add a comment").fill("Yes: the pilot uses real card data.")
    helen.get_by_role("button", name="Comment", exact=True).click()
    expect(helen.locator(".comment").nth(1)).to_contain_text("Yes: the pilot uses real card data.")
    shots.take(helen, "answered-phone")

    (mail,) = smtp_server.to("helen@example.com")
    assert mail["Subject"] == "[FRAUD] Priya Raman mentioned you on FRAUD-1"
