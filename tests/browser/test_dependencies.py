"""On the story page a data scientist records that the model waits for the labels, ticks a
checklist item, and the board's card then says "Blocked by FRAUD-2" and "1/2"; a cycle is refused
with a message. Screenshots on a laptop and a phone, light and dark."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from planner.domain.sprints import create_sprint, start_sprint
from planner.timeutil import utcnow
from tests import factories
from tests.browser.conftest import sign_in


def setup(db_session, team):
    today = utcnow().date()
    sprint = create_sprint(
        db_session,
        team.project,
        {
            "name": "Sprint 4",
            "start": (today - timedelta(days=3)).isoformat(),
            "end": (today + timedelta(days=10)).isoformat(),
        },
    )
    start_sprint(db_session, team.project, sprint, now=utcnow())
    factories.story(
        db_session,
        team.project,
        team.manager,
        title="Train the fraud model on labelled transactions",
        stage="modeling",
        points=5,
        sprint=sprint.id,
        assignee=team.editor.id,
    )
    factories.story(
        db_session,
        team.project,
        team.manager,
        title="Label 5,000 disputed transactions",
        stage="data_labeling",
        points=3,
        sprint=sprint.id,
    )
    db_session.commit()


def test_add_a_blocker_and_a_checklist_then_see_them_on_the_board(
    live_server, new_page, shots, db_session, team
):
    setup(db_session, team)
    for width, height, name in ((1280, 800, "laptop"), (390, 844, "phone")):
        page = new_page(width, height)
        sign_in(page, live_server, "priya@example.com", factories.PASSWORD)
        page.goto(f"{live_server}/projects/FRAUD/stories/1")
        deps = page.locator("#dependencies")
        if name == "laptop":
            deps.get_by_label("Blocked by").fill("fraud-2")
            deps.get_by_role("button", name="Add blocker").click()
            expect(page.get_by_text("FRAUD-1: blocker added.")).to_be_visible()
            expect(deps.locator("[data-blocked-by] a")).to_have_text("FRAUD-2")
            checklist = page.locator("#checklist")
            for text in ("Hold-out set frozen", "Baseline PR-AUC recorded"):
                checklist.get_by_label("New checklist item").fill(text)
                checklist.get_by_role("button", name="Add item").click()
            page.evaluate("() => { window.sameDocument = true; }")
            page.locator("#checklist").get_by_role(
                "button", name="Tick: Hold-out set frozen"
            ).click()
            expect(page.locator("[data-checklist-progress]")).to_have_text("1/2")
            assert page.evaluate("() => window.sameDocument === true")  # ticked by fetch
            page.reload()
            expect(page.locator("[data-checklist-progress]")).to_have_text("1/2")
            # The labels cannot wait for the model: the cycle is refused, saying why.
            page.goto(f"{live_server}/projects/FRAUD/stories/2")
            page.locator("#dependencies").get_by_label("Blocked by").fill("FRAUD-1")
            page.locator("#dependencies").get_by_role("button", name="Add blocker").click()
            alert = page.locator("#dependencies [role=alert]")  # next to the form it is about
            expect(alert).to_contain_text(
                "Blocker not added: FRAUD-1 cannot block FRAUD-2: FRAUD-2 already blocks FRAUD-1"
            )
            expect(alert).to_be_in_viewport()
            shots.take(page, f"cycle-refused-{name}", full_page=False)
            page.goto(f"{live_server}/projects/FRAUD/stories/1")
        page.locator("#dependencies").scroll_into_view_if_needed()
        shots.take(page, f"story-{name}")
        page.goto(f"{live_server}/projects/FRAUD/board")
        card = page.locator("#c1")
        expect(card.locator("[data-blocked-by]")).to_have_text("Blocked by FRAUD-2")
        expect(card.locator("[data-checklist-progress]")).to_have_text("☑ 1/2")
        expect(page.locator("#c2 [data-blocked-by]")).to_have_count(0)
        shots.take(page, f"board-{name}", full_page=False)
        page.emulate_media(color_scheme="dark")
        shots.take(page, f"board-{name}-dark", full_page=False)
        page.goto(f"{live_server}/projects/FRAUD/stories/1#checklist")
        shots.take(page, f"story-{name}-dark", full_page=False)
