"""The board's "+ Story" per column (the form without JavaScript), what the board and the backlog
draw for keys.js (in-place editors, data the keys need), the outcome dialog's empty default and the
story page's quick controls."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html import unescape

import pytest
from sqlalchemy import func, select

from planner.domain.context import load_context
from planner.domain.sprints import create_sprint
from planner.domain.stories import update_story
from planner.models import Story
from planner.timeutil import utcnow
from tests import factories

URL = "/projects/FRAUD/board/stories"


@pytest.fixture
def sprint(db_session, team):
    row = create_sprint(
        db_session,
        team.project,
        {"name": "Sprint 7", "start": "2026-03-02", "end": "2026-03-13"},
    )
    factories.story(
        db_session, team.project, team.manager, title="Train baseline", sprint=row.id, points=5
    )
    db_session.commit()
    return row


def stories(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(Story))


def test_a_column_form_adds_a_story_in_that_status_and_sprint(db_session, clients, sprint):
    response = clients["edit"].post_form(
        URL,
        {
            "title": "Check the drift dashboard",
            "status": "review",
            "sprint": str(sprint.id),
            "stage": "monitoring",
            "next": f"/projects/FRAUD/board?sprint={sprint.id}",
        },
    )
    assert response.status_code == 302
    story = db_session.scalar(select(Story).where(Story.title == "Check the drift dashboard"))
    assert (story.status, story.sprint_id, story.number) == ("review", sprint.id, 2)
    assert response.headers["Location"] == f"/projects/FRAUD/board?sprint={sprint.id}#c2"
    page = clients["edit"].get(response.headers["Location"]).get_data(as_text=True)
    assert "FRAUD-2 added to Review." in page


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"title": "  ", "status": "todo"}, "Story not added: Enter a title."),
        ({"title": "Fine", "status": "blocked"}, "Story not added: Choose a status"),
        ({"title": "Fine", "status": "todo", "sprint": "999"}, "FRAUD has no sprint &#39;999&#39;"),
    ],
)
def test_bad_column_input_is_told_and_changes_nothing(db_session, clients, sprint, form, message):
    before = stories(db_session)
    response = clients["edit"].post_form(URL, form, follow_redirects=True)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert stories(db_session) == before


def test_column_create_access(db_session, clients, sprint):
    form = {"title": "Sneaky", "status": "todo", "sprint": str(sprint.id)}
    assert clients["view"].post_form(URL, form).status_code == 403
    assert clients["none"].post_form(URL, form).status_code == 404
    assert clients["edit"].post(URL, data=form).status_code == 400  # no CSRF token
    assert stories(db_session) == 1


def test_a_closed_sprint_takes_no_new_story(db_session, clients, sprint):
    sprint.state = "closed"
    sprint.started_at = sprint.closed_at = datetime(2026, 3, 13, 17, tzinfo=UTC)
    db_session.commit()
    page = clients["edit"].get(f"/projects/FRAUD/board?sprint={sprint.id}").get_data(as_text=True)
    assert "data-column-create" not in page
    response = clients["edit"].post_form(
        URL, {"title": "Late", "status": "todo", "sprint": str(sprint.id)}, follow_redirects=True
    )
    assert "Sprint 7 is closed" in response.get_data(as_text=True)
    assert stories(db_session) == 1


def test_the_board_draws_editors_and_column_forms_for_editors_only(clients, sprint, team):
    edit = clients["edit"].get("/projects/FRAUD/board").get_data(as_text=True)
    assert edit.count("data-column-create") == 4  # one per status column, no lanes
    # The cards are drawn lean: board.js adds the in-place editors' holders (data-edit) to each
    # card for readers the page says edit (tests/browser/test_keyboard.py uses them).
    assert 'data-editable="yes"' in edit and "js/board.js" in edit
    assert 'name="status" value="in_progress"' in edit
    # The in-place editors' choices: the points scale, open stages, people who take work.
    raw = re.search(r'data-choices="([^"]+)"', edit).group(1)
    choices = json.loads(unescape(raw))
    assert [c[0] for c in choices["points"]] == ["", "0", "1", "2", "3", "5", "8", "13", "21"]
    names = [c[1] for c in choices["assignee"]]
    assert names == ["Nobody", "Maya Okafor", "Priya Raman"]  # Helen has view access only
    assert f'data-me="{team.editor.id}"' in edit
    # The experiment dialog starts with nothing chosen.
    assert '<option value="" selected>Choose the outcome…</option>' in edit
    view = clients["view"].get("/projects/FRAUD/board").get_data(as_text=True)
    assert "data-column-create" not in view and "data-edit=" not in view
    assert "js/keys.js" not in view


def test_the_backlog_rows_carry_what_the_keys_need(db_session, clients, team):
    factories.story(db_session, team.project, team.manager, title="Collect chargebacks")
    db_session.commit()
    page = clients["edit"].get("/projects/FRAUD/backlog").get_data(as_text=True)
    # The rows are drawn lean: backlog.js reads the number from the id (its key with the form's
    # data-project), the status from the row's chip (none: to do), and adds the rename buttons
    # when the form says the reader edits (tests/browser/test_keyboard.py uses them).
    assert 'id="s1" data-version="1">' in page and "data-row-status" not in page
    assert 'data-project="FRAUD" data-editable="yes"' in page
    assert "js/keys.js" in page and "js/backlog.js" in page
    view = clients["view"].get("/projects/FRAUD/backlog").get_data(as_text=True)
    assert "js/keys.js" not in view and 'data-editable="no"' in view


def test_the_story_page_quickbar_is_for_editors(db_session, clients, team):
    factories.story(db_session, team.project, team.manager, title="Collect chargebacks", points=3)
    db_session.commit()
    page = clients["edit"].get("/projects/FRAUD/stories/1").get_data(as_text=True)
    assert "data-quickbar" in page
    assert 'data-quick="points" data-value="3">3</button>' in page
    assert 'data-quick="assignee" data-value="">Nobody</button>' in page
    assert 'data-quick="status" data-value="todo">To do</button>' in page
    view = clients["view"].get("/projects/FRAUD/stories/1").get_data(as_text=True)
    assert "data-quickbar" not in view


def test_a_swimlane_column_form_carries_its_lane(db_session, clients, sprint, team):
    # Train baseline has no stage; give it one so the board has a "Modeling & training" lane.
    story = db_session.scalar(select(Story).where(Story.title == "Train baseline"))
    ctx = load_context(db_session, team.project)
    update_story(
        db_session, ctx, story, {"stage": "modeling"}, by=team.manager, now=utcnow(), base_version=1
    )
    db_session.commit()
    page = clients["edit"].get("/projects/FRAUD/board?lanes=stage").get_data(as_text=True)
    assert page.count('<input type="hidden" name="stage" value="modeling">') == 4
    page = clients["edit"].get("/projects/FRAUD/board?lanes=assignee").get_data(as_text=True)
    assert 'name="assignee"' not in page  # the only lane is "Unassigned": no value to carry
