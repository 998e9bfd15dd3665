"""A team member moves a card with one drag, sees it recorded; a stale window is told; an
experiment asks for its outcome; other boards pick the change up without reloading."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from planner.domain.sprints import create_sprint, start_sprint
from planner.timeutil import utcnow
from tests import factories
from tests.browser.conftest import sign_in


def board_setup(db_session, team):
    today = utcnow().date()  # the sprint runs today, whenever the test runs
    sprint = create_sprint(
        db_session,
        team.project,
        {
            "name": "Sprint 7",
            "start": (today - timedelta(days=14)).isoformat(),
            "end": (today + timedelta(days=21)).isoformat(),
        },
    )
    start_sprint(db_session, team.project, sprint, now=utcnow())
    train = factories.story(
        db_session,
        team.project,
        team.manager,
        title="Train the baseline",
        status="in_progress",
        stage="modeling",
        points=5,
        assignee=team.editor.id,
        sprint=sprint.id,
    )
    factories.story(
        db_session,
        team.project,
        team.manager,
        title="Label batch 3",
        stage="data_labeling",
        points=3,
        sprint=sprint.id,
    )
    experiment = factories.story(
        db_session,
        team.project,
        team.manager,
        type="experiment",
        title="Focal loss beats class weights",
        status="review",
        points=3,
        sprint=sprint.id,
        assignee=team.editor.id,
    )
    db_session.commit()
    return train, experiment


# Cards are dragged by their top line (the key): links and in-place editors take clicks.
GRIP = {"x": 12, "y": 10}


def column(page, status):
    return page.locator(f'.board-list[data-status="{status}"]')


def test_drag_to_done_then_a_stale_window_is_told(live_server, new_page, shots, db_session, team):
    train, _ = board_setup(db_session, team)
    stale = new_page()
    sign_in(stale, live_server, "maya@example.com", factories.PASSWORD)
    stale.goto(f"{live_server}/projects/FRAUD/board")
    expect(column(stale, "in_progress").get_by_text("Train the baseline")).to_be_visible()
    stale.evaluate("() => { window.plannerBoardPoll = () => {}; }")  # keep this page stale

    page = new_page()
    sign_in(page, live_server, "priya@example.com", factories.PASSWORD)
    page.get_by_role("link", name="My work").click()
    page.get_by_role("link", name="Sprint 7").click()
    card = page.locator(f"#c{train.number}")
    expect(card).to_be_visible()
    shots.take(page, "before-drag")
    card.drag_to(column(page, "done"), source_position=GRIP)
    expect(page.locator("[data-board-status]")).to_have_text(f"FRAUD-{train.number} moved to Done.")
    expect(page.locator("[data-progress-text]")).to_have_text("5 of 11 points done")
    page.reload()
    expect(column(page, "done").locator(f"#c{train.number}")).to_be_visible()
    shots.take(page, "after-drag")
    page.locator(f"#c{train.number} .card-title").click()
    expect(page.locator(".timeline li").first).to_contain_text(
        "Priya Raman moved this from In progress to Done, just now"
    )
    shots.take(page, "history")

    # The stale window still shows the card in progress, drawn from version 1.
    stale_card = stale.locator(f"#c{train.number}")
    stale_card.focus()  # the card's status form shows while the card has keyboard focus
    stale_card.locator("[data-card-status]").select_option("review")
    stale_card.get_by_role("button", name="Move").click()
    status = stale.locator("[data-board-status]")
    expect(status).to_contain_text(f"FRAUD-{train.number} not moved.")
    expect(status).to_contain_text("Priya Raman moved this from In progress to Done")
    # Their change is shown instead of overwritten: the card jumps to Done.
    expect(column(stale, "done").locator(f"#c{train.number}")).to_be_visible()
    shots.take(stale, "stale-told")


def test_an_experiment_asks_for_its_outcome_before_done(
    live_server, new_page, shots, db_session, team
):
    _, experiment = board_setup(db_session, team)
    page = new_page()
    sign_in(page, live_server, "priya@example.com", factories.PASSWORD)
    page.goto(f"{live_server}/projects/FRAUD/board")
    page.locator(f"#c{experiment.number}").drag_to(column(page, "done"), source_position=GRIP)
    dialog = page.locator("#outcome-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Outcome").select_option("refuted")
    dialog.get_by_label("Result").fill("Recall 0.79 vs 0.80: no gain")
    shots.take(page, "outcome-dialog")
    dialog.get_by_role("button", name="Save and move to Done").click()
    expect(column(page, "done").locator(f"#c{experiment.number}")).to_contain_text("Refuted")
    page.goto(f"{live_server}/projects/FRAUD/stories/{experiment.number}")
    expect(page.get_by_label("Result")).to_have_value("Recall 0.79 vs 0.80: no gain")


def test_a_cancelled_outcome_leaves_the_card_where_it_was(live_server, new_page, db_session, team):
    _, experiment = board_setup(db_session, team)
    page = new_page()
    sign_in(page, live_server, "priya@example.com", factories.PASSWORD)
    page.goto(f"{live_server}/projects/FRAUD/board")
    page.locator(f"#c{experiment.number}").drag_to(column(page, "done"), source_position=GRIP)
    page.locator("#outcome-dialog").get_by_role("button", name="Cancel").click()
    expect(column(page, "review").locator(f"#c{experiment.number}")).to_be_visible()
    expect(page.locator("[data-board-status]")).to_contain_text("no outcome recorded")


def test_other_boards_pick_up_changes_without_reloading(live_server, new_page, db_session, team):
    train, _ = board_setup(db_session, team)
    watcher = new_page()
    sign_in(watcher, live_server, "helen@example.com", factories.PASSWORD)
    watcher.goto(f"{live_server}/projects/FRAUD/board")
    expect(watcher.locator(".card-move")).to_have_count(0)  # a stakeholder only watches
    mover = new_page()
    sign_in(mover, live_server, "priya@example.com", factories.PASSWORD)
    mover.goto(f"{live_server}/projects/FRAUD/board")
    mover.locator(f"#c{train.number}").focus()
    mover.locator(f"#c{train.number} [data-card-status]").select_option("review")
    mover.locator(f"#c{train.number}").get_by_role("button", name="Move").click()
    expect(mover.locator("[data-board-status]")).to_have_text(
        f"FRAUD-{train.number} moved to Review."
    )
    # The watcher's board polls every 5 seconds; within a few it shows the card in Review.
    expect(column(watcher, "review").locator(f"#c{train.number}")).to_be_visible(timeout=12_000)
    counts = watcher.locator(".board-column.status-review [data-count]").inner_text()
    assert re.match(r"2 · 8 pts", counts)


def test_keyboard_users_move_a_card_with_the_status_control(
    live_server, new_page, db_session, team
):
    train, _ = board_setup(db_session, team)
    page = new_page()
    sign_in(page, live_server, "priya@example.com", factories.PASSWORD)
    page.goto(f"{live_server}/projects/FRAUD/board")
    # Tab reaches the card's controls; its status form shows once focus is within the card.
    page.locator(f"#c{train.number} .card-title").focus()
    select = page.locator(f"#c{train.number} [data-card-status]")
    expect(select).to_be_visible()
    select.focus()
    page.keyboard.press("ArrowDown")  # In progress -> Review: browsing, not moving yet
    page.keyboard.press("ArrowDown")  # Review -> Done
    page.wait_for_timeout(600)
    expect(column(page, "in_progress").locator(f"#c{train.number}")).to_be_visible()
    expect(page.locator("[data-board-status]")).to_have_text("")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("[data-board-status]")).to_have_text(f"FRAUD-{train.number} moved to Done.")
    expect(column(page, "done").locator(f"#c{train.number}")).to_be_visible()
