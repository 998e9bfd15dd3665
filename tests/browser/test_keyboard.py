"""Daily use at keyboard speed: a team member moves cards with j/k and 1-4 and undoes a move,
changes points in place, is told about a conflicting change, reads the key list, adds a story in
a column; the backlog and the story page answer the same keys."""

from __future__ import annotations

from playwright.sync_api import expect

from planner.domain.context import load_context
from planner.domain.stories import update_story
from planner.models import Story
from planner.timeutil import utcnow
from tests import factories
from tests.browser.conftest import sign_in
from tests.browser.test_board import board_setup, column

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}


def open_board(new_page, live_server, size=LAPTOP, who="priya@example.com"):
    page = new_page(**size)
    sign_in(page, live_server, who, factories.PASSWORD)
    page.goto(f"{live_server}/projects/FRAUD/board")
    return page


def test_keyboard_move_is_announced_and_undone(live_server, new_page, shots, db_session, team):
    train, _ = board_setup(db_session, team)
    page = open_board(new_page, live_server)
    shots.take(page, "board-laptop")
    # Cards in DOM order: To do (Label batch 3), In progress (Train), Review (experiment).
    page.keyboard.press("j")
    expect(page.locator(".board-card").first).to_be_focused()
    expect(page.locator(".board-card").first).to_contain_text("Label batch 3")
    page.keyboard.press("j")
    card = page.locator(f"#c{train.number}")
    expect(card).to_be_focused()
    # The focused card shows the status form; the page has one, which follows the focus.
    expect(card.locator(".card-move")).to_be_visible()
    expect(page.locator(".card-move")).to_have_count(1)
    expect(page.locator(".board-card").first.locator(".card-move")).to_have_count(0)
    page.keyboard.press("3")  # Review
    expect(column(page, "review").locator(f"#c{train.number}")).to_be_visible()
    expect(page.locator("[data-board-status]")).to_have_text(
        f"FRAUD-{train.number} moved to Review."
    )
    expect(page.locator("[data-board-status]")).to_have_attribute("aria-live", "polite")
    expect(page.locator(f"#c{train.number}")).to_be_focused()  # focus stays on the moved card
    toast = page.locator("[data-undo-toast]")
    expect(toast).to_be_visible()
    expect(toast).to_contain_text(f"FRAUD-{train.number} moved to Review.")
    shots.take(page, "undo-toast", full_page=False)
    page.emulate_media(color_scheme="dark")
    shots.take(page, "undo-toast-dark", full_page=False)
    toast.get_by_role("button", name="Undo").click()
    expect(column(page, "in_progress").locator(f"#c{train.number}")).to_be_visible()
    expect(page.locator("[data-board-status]")).to_have_text(
        f"FRAUD-{train.number} moved back to In progress."
    )
    expect(toast).to_be_hidden()
    # Both changes are in the story's history (append-only): version 1 -> 2 -> 3.
    db_session.expire_all()
    assert db_session.get(Story, train.id).status == "in_progress"
    assert db_session.get(Story, train.id).version == 3

    # z undoes too, while the toast shows.
    page.locator(f"#c{train.number}").focus()
    page.keyboard.press("4")
    expect(column(page, "done").locator(f"#c{train.number}")).to_be_visible()
    page.keyboard.press("z")
    expect(column(page, "in_progress").locator(f"#c{train.number}")).to_be_visible()


def test_keys_are_ignored_while_typing(live_server, new_page, db_session, team):
    train, _ = board_setup(db_session, team)
    page = open_board(new_page, live_server)
    page.locator(f"#c{train.number}").focus()
    page.locator("#b-lanes").focus()
    page.keyboard.press("4")
    page.wait_for_timeout(300)
    expect(column(page, "in_progress").locator(f"#c{train.number}")).to_be_visible()


def test_points_set_in_place_persist(live_server, new_page, shots, db_session, team):
    train, _ = board_setup(db_session, team)
    page = open_board(new_page, live_server)
    card = page.locator(f"#c{train.number}")
    card.locator('[data-edit="points"]').click()
    picker = card.get_by_label(f"Points of FRAUD-{train.number}", exact=True)
    expect(picker).to_be_visible()
    shots.take(page, "points-picker", full_page=False)
    picker.select_option("8")
    expect(page.locator("[data-board-status]")).to_have_text(
        f"FRAUD-{train.number} estimated at 8 points."
    )
    expect(card.locator(".chip.points")).to_have_text("8")
    page.reload()
    expect(page.locator(f"#c{train.number} .chip.points")).to_have_text("8")
    # In progress holds only this card: 8 points now.
    expect(page.locator(".board-column.status-in_progress [data-count]")).to_have_text("1 · 8 pts")


def test_assign_to_me_with_a(live_server, new_page, db_session, team):
    _, experiment = board_setup(db_session, team)
    label = db_session.query(Story).filter_by(title="Label batch 3").one()
    page = open_board(new_page, live_server)
    page.keyboard.press("j")  # Label batch 3, unassigned
    page.keyboard.press("a")
    expect(page.locator("[data-board-status]")).to_have_text(
        f"FRAUD-{label.number} assigned to you."
    )
    expect(page.locator(f"#c{label.number} .avatar")).to_have_text("PR")  # Priya Raman


def test_a_conflicting_change_is_shown_not_overwritten(
    live_server, new_page, shots, db_session, team
):
    train, _ = board_setup(db_session, team)
    page = new_page(**LAPTOP)
    sign_in(page, live_server, "priya@example.com", factories.PASSWORD)
    page.add_init_script("window.setInterval = () => 0;")  # no timed refresh: the page stays stale
    page.goto(f"{live_server}/projects/FRAUD/board")
    # Meanwhile Maya estimates it at 13 (the page still shows 5, version 1).
    ctx = load_context(db_session, team.project)
    story = db_session.get(Story, train.id)
    update_story(
        db_session, ctx, story, {"points": 13}, by=team.manager, now=utcnow(), base_version=1
    )
    db_session.commit()
    card = page.locator(f"#c{train.number}")
    expect(card.locator(".chip.points")).to_have_text("5")
    card.locator('[data-edit="points"]').click()
    card.get_by_label(f"Points of FRAUD-{train.number}", exact=True).select_option("2")
    status = page.locator("[data-board-status]")
    expect(status).to_contain_text(f"FRAUD-{train.number} not changed.")
    expect(status).to_contain_text("Maya Okafor re-estimated this from 5 points to 13 points")
    expect(status).to_contain_text("The card now shows their change.")
    # Their value is shown, ours was not saved.
    expect(card.locator(".chip.points")).to_have_text("13")
    db_session.expire_all()
    assert db_session.get(Story, train.id).points == 13
    shots.take(page, "conflict", full_page=False)


def test_question_mark_lists_the_keys(live_server, new_page, shots, db_session, team):
    board_setup(db_session, team)
    page = open_board(new_page, live_server)
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Next / previous card")
    expect(dialog).to_contain_text("To do, In progress, Review, Done: set the status")
    shots.take(page, "keys-dialog", full_page=False)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_the_outcome_dialog_requires_a_choice(live_server, new_page, shots, db_session, team):
    _, experiment = board_setup(db_session, team)
    page = open_board(new_page, live_server)
    page.locator(f"#c{experiment.number}").focus()
    page.keyboard.press("4")
    dialog = page.locator("#outcome-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Outcome")).to_have_value("")
    dialog.get_by_role("button", name="Save and move to Done").click()
    # Nothing chosen: the dialog stays open and the card stays in Review.
    expect(dialog).to_be_visible()
    expect(column(page, "review").locator(f"#c{experiment.number}")).to_be_visible()
    dialog.get_by_label("Outcome").select_option("confirmed")
    dialog.get_by_role("button", name="Save and move to Done").click()
    card = column(page, "done").locator(f"#c{experiment.number}")
    expect(card.locator(".chip.type-experiment")).to_have_text("Experiment · Confirmed")
    shots.take(page, "outcome-shown")


def test_add_a_story_in_a_column(live_server, new_page, shots, db_session, team):
    board_setup(db_session, team)
    page = open_board(new_page, live_server)
    page.locator(".board-column.status-in_progress").get_by_text("+ Story").click()
    field = page.get_by_label("Title of the new story in In progress")
    field.fill("Check the drift dashboard")
    field.press("Enter")
    created = column(page, "in_progress").get_by_text("Check the drift dashboard")
    expect(created).to_be_visible()
    expect(field).to_have_value("")
    expect(page.locator("[data-board-status]")).to_contain_text("added to In progress.")
    db_session.expire_all()
    story = db_session.query(Story).filter_by(title="Check the drift dashboard").one()
    assert (story.status, story.sprint_id is not None) == ("in_progress", True)
    # c opens the focused card's column form.
    field.press("Escape")
    page.locator(".board-column.status-review .board-card").first.focus()
    page.keyboard.press("c")
    expect(page.get_by_label("Title of the new story in Review")).to_be_focused()
    shots.take(page, "column-create", full_page=False)


def test_board_on_a_phone_folds_the_filters(live_server, new_page, shots, db_session, team):
    board_setup(db_session, team)
    page = open_board(new_page, live_server, size=PHONE)
    expect(page.locator("[data-board-filters]")).not_to_have_attribute("open", "")
    expect(page.locator("#b-lanes")).to_be_hidden()
    shots.take(page, "board-phone")
    page.get_by_text("Filters", exact=True).click()
    expect(page.locator("#b-lanes")).to_be_visible()
    # No Show button with JavaScript: a change applies at once.
    expect(page.get_by_role("button", name="Show")).to_be_hidden()
    page.locator("#b-lanes").select_option("stage")
    page.wait_for_url("**lanes=stage**")
    shots.take(page, "board-phone-lanes")


def test_backlog_keys_and_rename(live_server, new_page, shots, db_session, team):
    first = factories.story(db_session, team.project, team.manager, title="Collect chargebacks")
    factories.story(db_session, team.project, team.manager, title="Label batch 4")
    db_session.commit()
    page = new_page(**LAPTOP)
    sign_in(page, live_server, "priya@example.com", factories.PASSWORD)
    page.goto(f"{live_server}/projects/FRAUD/backlog")
    page.keyboard.press("j")
    row = page.locator(f"#s{first.number}")
    expect(row).to_be_focused()
    page.keyboard.press("2")
    expect(row.locator("[data-row-status]")).to_have_text("In progress")
    expect(page.locator("[data-undo-toast]")).to_contain_text(
        f"FRAUD-{first.number} moved to In progress."
    )
    page.keyboard.press("e")
    title = row.get_by_label(f"Title of FRAUD-{first.number}", exact=True)
    title.fill("Collect chargebacks for March")
    title.press("Enter")
    expect(row.locator(".title-line > a")).to_have_text("Collect chargebacks for March")
    shots.take(page, "backlog")
    page.reload()
    expect(page.locator(f"#s{first.number} .title-line > a")).to_have_text(
        "Collect chargebacks for March"
    )
    expect(page.locator(f"#s{first.number} [data-row-status]")).to_have_text("In progress")
    page.keyboard.press("c")
    expect(page.locator(".quick-create input[name='title']")).to_be_focused()


def test_story_page_quickbar(live_server, new_page, shots, db_session, team):
    story = factories.story(db_session, team.project, team.manager, title="Collect chargebacks")
    db_session.commit()
    page = new_page(**LAPTOP)
    sign_in(page, live_server, "priya@example.com", factories.PASSWORD)
    page.goto(f"{live_server}/projects/FRAUD/stories/{story.number}")
    bar = page.locator("[data-quickbar]")
    expect(bar).to_be_visible()
    page.keyboard.press("3")
    expect(bar.locator('[data-quick="status"]')).to_have_text("Review")
    expect(page.locator("[data-undo-toast]")).to_contain_text(
        f"FRAUD-{story.number} moved to Review."
    )
    bar.locator('[data-quick="points"]').click()
    bar.get_by_label(f"Points of FRAUD-{story.number}", exact=True).select_option("5")
    expect(bar.locator('[data-quick="points"]')).to_have_text("5")
    # The heading follows: status, points and version (1 -> 2 -> 3).
    expect(page.locator(".page-head .chip.status-review")).to_have_text("Review")
    expect(page.locator(".page-head .chip.points")).to_have_text("5")
    expect(page.get_by_text(f"FRAUD-{story.number} · version 3")).to_be_visible()
    shots.take(page, "quickbar", full_page=False)
    page.emulate_media(color_scheme="dark")
    shots.take(page, "quickbar-dark", full_page=False)
    # The form below follows: saving it keeps both quick changes.
    page.get_by_role("button", name="Save").first.click()
    db_session.expire_all()
    saved = db_session.get(Story, story.id)
    assert (saved.status, saved.points) == ("review", 5)


def test_a_stakeholder_gets_no_quick_controls(live_server, new_page, db_session, team):
    story = factories.story(db_session, team.project, team.manager, title="Collect chargebacks")
    board_setup(db_session, team)
    page = new_page(**LAPTOP)
    sign_in(page, live_server, "helen@example.com", factories.PASSWORD)
    page.goto(f"{live_server}/projects/FRAUD/stories/{story.number}")
    expect(page.locator("[data-quickbar]")).to_have_count(0)
    page.goto(f"{live_server}/projects/FRAUD/board")
    expect(page.locator("[data-edit]")).to_have_count(0)
    expect(page.locator("[data-column-create]")).to_have_count(0)
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_have_count(0)


def test_without_javascript_the_board_keeps_its_forms(live_server, browser, db_session, team):
    train, _ = board_setup(db_session, team)
    context = browser.new_context(java_script_enabled=False, viewport=LAPTOP)
    try:
        page = context.new_page()
        sign_in(page, live_server, "priya@example.com", factories.PASSWORD)
        page.goto(f"{live_server}/projects/FRAUD/board")
        expect(page.get_by_role("button", name="Show")).to_be_visible()
        # A card's Move link draws the board with the status form in that card.
        page.locator(f"#c{train.number}").get_by_role("link", name="Move").click()
        expect(page.locator(f"#c{train.number} .card-move")).to_be_visible()
        page.locator(f"#c{train.number} [data-card-status]").select_option("review")
        page.locator(f"#c{train.number}").get_by_role("button", name="Move").click()
        expect(page.locator(".flash.success")).to_contain_text("moved to Review.")
        expect(column(page, "review").locator(f"#c{train.number}")).to_be_visible()
        page.locator(".board-column.status-done").get_by_text("+ Story").click()
        page.get_by_label("Title of the new story in Done").fill("Write the model card")
        page.locator(".board-column.status-done").get_by_role("button", name="Add").click()
        expect(page.locator(".flash.success")).to_contain_text("added to Done.")
        expect(column(page, "done").get_by_text("Write the model card")).to_be_visible()
    finally:
        context.close()


def test_e_renames_a_card_and_enter_opens_it(live_server, new_page, db_session, team):
    train, _ = board_setup(db_session, team)
    page = open_board(new_page, live_server)
    page.locator(f"#c{train.number}").focus()
    page.keyboard.press("e")
    title = page.get_by_label(f"Title of FRAUD-{train.number}", exact=True)
    expect(title).to_be_focused()
    title.fill("Train the gradient-boosted baseline")
    title.press("Enter")
    expect(page.locator("[data-board-status]")).to_have_text(f"FRAUD-{train.number} renamed.")
    card = page.locator(f"#c{train.number}")
    expect(card.locator(".card-title")).to_have_text("Train the gradient-boosted baseline")
    expect(card).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/projects/FRAUD/stories/{train.number}")
    expect(page.locator("h1")).to_have_text("Train the gradient-boosted baseline")
