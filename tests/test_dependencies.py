"""Dependencies between stories ("FRAUD-1 is blocked by FRAUD-2"): the rules (no self, no repeat,
no cycle, only stories you can see), the story page's form, the board's badge, the sprint plan's
warning, the API, who may change them, and bounded queries."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from planner.domain import ValidationError
from planner.domain.context import load_context
from planner.domain.dependencies import (
    add_blocker,
    blockers_of,
    dependencies_of,
    plan_warnings,
    story_you_can_see,
)
from planner.domain.stories import update_story
from planner.models import Sprint, Story, StoryDependency
from tests import factories

NOW = datetime(2026, 3, 3, 10, tzinfo=UTC)


def stories(db_session, team, count: int, **values) -> list[Story]:
    """FRAUD-1 .. FRAUD-count (in the backlog unless `values` say otherwise)."""
    made = [
        factories.story(db_session, team.project, team.editor, title=f"Story {n}", **values)
        for n in range(1, count + 1)
    ]
    db_session.commit()
    return made


def pairs(db_session) -> set[tuple[int, int]]:
    """(blocker number, blocked number) of every dependency."""
    db_session.expire_all()
    blocker, blocked = aliased(Story), aliased(Story)
    rows = db_session.execute(
        select(blocker.number, blocked.number)
        .select_from(StoryDependency)
        .join(blocker, blocker.id == StoryDependency.blocker_id)
        .join(blocked, blocked.id == StoryDependency.blocked_id)
    ).all()
    return {tuple(row) for row in rows}


def refusal(callable_) -> str:
    with pytest.raises(ValidationError) as caught:
        callable_()
    return caught.value.errors["blocker"]


# --- the rules ---------------------------------------------------------------------------------


def test_self_repeat_and_cycles_are_refused_with_the_chain_named(db_session, team):
    one, two, three, four = stories(db_session, team, 4)
    by = team.editor
    add_blocker(db_session, one, two, by=by, now=NOW)  # 2 blocks 1
    add_blocker(db_session, two, three, by=by, now=NOW)  # 3 blocks 2
    assert refusal(lambda: add_blocker(db_session, one, one, by=by, now=NOW)) == (
        "FRAUD-1 cannot be blocked by itself."
    )
    assert refusal(lambda: add_blocker(db_session, one, two, by=by, now=NOW)) == (
        "FRAUD-1 is already blocked by FRAUD-2."
    )
    # Direct: 2 blocks 1, so 1 cannot block 2.
    assert refusal(lambda: add_blocker(db_session, two, one, by=by, now=NOW)) == (
        "FRAUD-1 cannot block FRAUD-2: FRAUD-2 already blocks FRAUD-1 (FRAUD-2 → FRAUD-1), "
        "so neither could ever start."
    )
    # Transitive: 3 blocks 2 blocks 1, so 1 cannot block 3.
    assert refusal(lambda: add_blocker(db_session, three, one, by=by, now=NOW)) == (
        "FRAUD-1 cannot block FRAUD-3: FRAUD-3 already blocks FRAUD-1 "
        "(FRAUD-3 → FRAUD-2 → FRAUD-1), so neither could ever start."
    )
    # A shortcut along the chain's own direction is no cycle: 3 may block 1 directly too, and a
    # diamond (4 blocks 1 and 3) is fine.
    add_blocker(db_session, one, three, by=by, now=NOW)
    add_blocker(db_session, one, four, by=by, now=NOW)
    add_blocker(db_session, three, four, by=by, now=NOW)
    db_session.commit()
    assert pairs(db_session) == {(2, 1), (3, 2), (3, 1), (4, 1), (4, 3)}
    # ...and now 1 cannot block 4 either (4 → 1 directly; the shortest chain is named).
    assert refusal(lambda: add_blocker(db_session, four, one, by=by, now=NOW)) == (
        "FRAUD-1 cannot block FRAUD-4: FRAUD-4 already blocks FRAUD-1 (FRAUD-4 → FRAUD-1), "
        "so neither could ever start."
    )


def test_a_key_you_cannot_see_reads_like_one_that_does_not_exist(db_session, team):
    stories(db_session, team, 1)
    secret = factories.project(db_session, "SECRET", "Secret", owner=team.manager)
    factories.story(db_session, secret, team.manager, title="Hidden")
    db_session.commit()
    find = story_you_can_see
    assert find(db_session, team.editor, " fraud-1 ").number == 1
    for key, message in (
        ("SECRET-1", "No story SECRET-1 that you can see."),
        ("FRAUD-99", "No story FRAUD-99 that you can see."),
        ("nonsense", "No story NONSENSE that you can see."),
        ("", "Enter the key of the blocking story, like FRAUD-4."),
    ):
        with pytest.raises(ValidationError) as caught:
            find(db_session, team.editor, key)
        assert caught.value.errors == {"blocker": message}
    # The manager belongs to SECRET, so sees it.
    assert find(db_session, team.manager, "SECRET-1").title == "Hidden"


def test_another_projects_blocker_is_named_only_to_its_members(db_session, team):
    (one,) = stories(db_session, team, 1)
    churn = factories.project(db_session, "CHURN", "Churn", owner=team.manager)
    blocker = factories.story(db_session, churn, team.manager, title="Export consent flags")
    add_blocker(db_session, one, blocker, by=team.manager, now=NOW)
    db_session.commit()
    manager_view = dependencies_of(db_session, one, team.manager)
    assert [(x.key, x.title) for x in manager_view.blocked_by] == [
        ("CHURN-1", "Export consent flags")
    ]
    editor_view = dependencies_of(db_session, one, team.editor)  # not a member of CHURN
    assert [(x.key, x.title, x.label) for x in editor_view.blocked_by] == [
        (None, None, "a story you cannot see")
    ]
    assert [x.key for x in dependencies_of(db_session, blocker, team.manager).blocks] == ["FRAUD-1"]


def test_plan_warns_about_blockers_planned_later_or_not_at_all(db_session, team, story_one):
    sprint_1, sprint_2 = db_session.scalars(select(Sprint).order_by(Sprint.start_date)).all()
    s2 = factories.story(db_session, team.project, team.editor, title="Labels", sprint=sprint_2.id)
    s3 = factories.story(db_session, team.project, team.editor, title="Data access")
    s4 = factories.story(db_session, team.project, team.editor, title="Old", status="done")
    s5 = factories.story(db_session, team.project, team.editor, title="Same", sprint=sprint_1.id)
    for blocker in (s2, s3, s4, s5):
        add_blocker(db_session, story_one, blocker, by=team.editor, now=NOW)
    db_session.commit()
    lines = plan_warnings(db_session, sprint_1, [story_one, s5], "FRAUD", team.editor)
    # FRAUD-2 (Sprint 2, later) and FRAUD-3 (backlog) warn; FRAUD-4 is done, FRAUD-5 is in the
    # same sprint. Unfinished blockers are listed by key.
    assert lines == [
        "FRAUD-1 is planned before FRAUD-2, which blocks it (FRAUD-2 is in Sprint 2).",
        "FRAUD-1 is blocked by FRAUD-3, which is not planned yet.",
    ]
    # Seen from Sprint 2's plan, FRAUD-2 waits for nothing.
    assert plan_warnings(db_session, sprint_2, [s2], "FRAUD", team.editor) == []


# --- the story page ----------------------------------------------------------------------------


def test_an_editor_adds_and_removes_a_blocker_on_the_story_page(db_session, team, clients):
    stories(db_session, team, 2)
    client = clients["edit"]
    answer = client.post_form("/projects/FRAUD/stories/1/blockers", {"blocker": "fraud-2"})
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/projects/FRAUD/stories/1#dependencies")
    assert pairs(db_session) == {(2, 1)}
    page = client.get("/projects/FRAUD/stories/1").get_data(as_text=True)
    assert "FRAUD-1: blocker added." in page
    assert re.search(
        r'href="/projects/FRAUD/stories/2">FRAUD-2</a> <span class="deps-title">', page
    )
    other = client.get("/projects/FRAUD/stories/2").get_data(as_text=True)
    blocks = other[other.index("data-blocks") :]
    assert 'href="/projects/FRAUD/stories/1">FRAUD-1</a>' in blocks
    blocker_id = db_session.scalar(select(Story.id).where(Story.number == 2))
    gone = client.post_form(f"/projects/FRAUD/stories/1/blockers/{blocker_id}/delete")
    assert gone.status_code == 302
    assert pairs(db_session) == set()
    again = client.post_form(f"/projects/FRAUD/stories/1/blockers/{blocker_id}/delete")
    assert again.status_code == 404


def test_bad_blockers_are_refused_with_a_message_and_change_nothing(db_session, team, clients):
    stories(db_session, team, 2)
    client = clients["edit"]
    client.post_form("/projects/FRAUD/stories/1/blockers", {"blocker": "FRAUD-2"})
    for key, message in (
        ("FRAUD-1", "Blocker not added: FRAUD-1 cannot be blocked by itself."),
        ("FRAUD-77", "Blocker not added: No story FRAUD-77 that you can see."),
        ("x" * 5000, "Blocker not added: No story " + "X" * 40 + " that you can see."),
        ("", "Blocker not added: Enter the key of the blocking story, like FRAUD-4."),
    ):
        answer = client.post_form("/projects/FRAUD/stories/1/blockers", {"blocker": key})
        assert answer.status_code == 302
        assert message in client.get("/projects/FRAUD/stories/1").get_data(as_text=True)
    cycle = client.post_form("/projects/FRAUD/stories/2/blockers", {"blocker": "FRAUD-1"})
    assert cycle.status_code == 302
    page = client.get("/projects/FRAUD/stories/2").get_data(as_text=True)
    assert "FRAUD-1 cannot block FRAUD-2: FRAUD-2 already blocks FRAUD-1" in page
    assert pairs(db_session) == {(2, 1)}


@pytest.mark.parametrize(("level", "status"), [("manage", 302), ("view", 403), ("none", 404)])
def test_who_may_change_dependencies(db_session, team, clients, level, status):
    stories(db_session, team, 2)
    blocker_id = db_session.scalar(select(Story.id).where(Story.number == 2))
    add = clients[level].post_form("/projects/FRAUD/stories/1/blockers", {"blocker": "FRAUD-2"})
    assert add.status_code == status
    assert pairs(db_session) == ({(2, 1)} if status == 302 else set())
    if status != 302:
        db_session.add(StoryDependency(blocker_id=blocker_id, blocked_id=blocker_id - 1))
        db_session.commit()
    remove = clients[level].post_form(f"/projects/FRAUD/stories/1/blockers/{blocker_id}/delete")
    assert remove.status_code == status
    assert pairs(db_session) == (set() if status == 302 else {(2, 1)})


def test_a_view_member_reads_dependencies_without_forms(db_session, team, clients):
    (one, two) = stories(db_session, team, 2)
    add_blocker(db_session, one, two, by=team.editor, now=NOW)
    db_session.commit()
    page = clients["view"].get("/projects/FRAUD/stories/1").get_data(as_text=True)
    assert 'href="/projects/FRAUD/stories/2">FRAUD-2</a>' in page
    assert "/blockers" not in page  # neither the add form nor a remove button


def test_adding_a_blocker_needs_the_csrf_token(db_session, team, clients):
    stories(db_session, team, 2)
    answer = clients["edit"].post("/projects/FRAUD/stories/1/blockers", data={"blocker": "FRAUD-2"})
    assert answer.status_code == 400
    assert pairs(db_session) == set()


# --- the board and the plan --------------------------------------------------------------------


def test_the_board_card_says_what_blocks_it_until_the_blocker_is_done(
    db_session, team, clients, story_one
):
    blocker = factories.story(db_session, team.project, team.editor, title="Data access")
    add_blocker(db_session, story_one, blocker, by=team.editor, now=NOW)
    db_session.commit()
    board = clients["view"].get("/projects/FRAUD/board").get_data(as_text=True)
    card = board[board.index('id="c1"') :]
    card = card[: card.index("</li>")]
    assert "Blocked by FRAUD-2</span>" in card
    ctx = load_context(db_session, team.project)
    update_story(
        db_session, ctx, blocker, {"status": "done"}, by=team.editor, now=NOW, base_version=1
    )
    db_session.commit()
    board = clients["view"].get("/projects/FRAUD/board").get_data(as_text=True)
    assert "Blocked by" not in board


def test_the_plan_page_lists_the_warnings(db_session, team, clients, story_one):
    blocker = factories.story(db_session, team.project, team.editor, title="Data access")
    add_blocker(db_session, story_one, blocker, by=team.editor, now=NOW)
    db_session.commit()
    sprint_id = db_session.scalar(select(Sprint.id).where(Sprint.name == "Sprint 1"))
    page = clients["manage"].get(f"/projects/FRAUD/sprints/{sprint_id}/plan").get_data(as_text=True)
    assert (
        '<li class="warn-line">FRAUD-1 is blocked by FRAUD-2, which is not planned yet.</li>'
        in (page)
    )


def test_board_and_story_page_queries_do_not_grow_with_dependencies(
    db_session, team, clients, story_one, count_queries
):
    sprint_id = story_one.sprint_id
    more = [
        factories.story(db_session, team.project, team.editor, title=f"B{n}", sprint=sprint_id)
        for n in range(12)
    ]
    db_session.commit()
    client = clients["edit"]

    def counts() -> tuple[int, int]:
        with count_queries() as board:
            assert client.get("/projects/FRAUD/board").status_code == 200
        with count_queries() as page:
            assert client.get("/projects/FRAUD/stories/1").status_code == 200
        return board.count, page.count

    add_blocker(db_session, story_one, more[0], by=team.editor, now=NOW)
    db_session.commit()
    few = counts()
    for blocked, blocker in zip(more[1:], more[2:], strict=False):
        add_blocker(db_session, blocked, blocker, by=team.editor, now=NOW)
    for blocker in more[1:]:
        add_blocker(db_session, story_one, blocker, by=team.editor, now=NOW)
    db_session.commit()  # a story is numbered under its project's row, taken first
    for n in range(5):  # and a long "Blocks" list on the story page
        later = factories.story(db_session, team.project, team.editor, title=f"Later {n}")
        add_blocker(db_session, later, story_one, by=team.editor, now=NOW)
        db_session.commit()
    db_session.commit()
    assert db_session.scalar(select(func.count()).select_from(StoryDependency)) == 1 + 10 + 11 + 5
    assert counts() == few


# --- the API -----------------------------------------------------------------------------------


def test_api_dependencies_and_the_story_json(db_session, team, clients):
    stories(db_session, team, 3)
    api = clients["edit"].api
    added = api("POST", "/api/v1/stories/FRAUD-1/dependencies", {"blocked_by": "fraud-2"})
    assert added.status_code == 201
    assert added.json == {
        "blocked_by": [{"key": "FRAUD-2", "title": "Story 2", "status": "todo", "done": False}],
        "blocks": [],
    }
    api("POST", "/api/v1/stories/FRAUD-3/dependencies", {"blocked_by": "FRAUD-1"})
    story = api("GET", "/api/v1/stories/FRAUD-1").json
    assert (story["blocked_by"], story["blocks"], story["checklist"]) == (
        ["FRAUD-2"],
        ["FRAUD-3"],
        {"done": 0, "total": 0},
    )
    cycle = api("POST", "/api/v1/stories/FRAUD-2/dependencies", {"blocked_by": "FRAUD-3"})
    assert cycle.status_code == 422
    assert cycle.json["error"]["details"] == {
        "blocker": "FRAUD-3 cannot block FRAUD-2: FRAUD-2 already blocks FRAUD-3 "
        "(FRAUD-2 → FRAUD-1 → FRAUD-3), so neither could ever start."
    }
    unknown = api("POST", "/api/v1/stories/FRAUD-2/dependencies", {"blocked_by": "NOPE-1"})
    assert unknown.status_code == 422
    assert unknown.json["error"]["details"] == {"blocker": "No story NOPE-1 that you can see."}
    wrong = api("POST", "/api/v1/stories/FRAUD-2/dependencies", {"blocked_by": 3})
    assert wrong.status_code == 422
    assert api("DELETE", "/api/v1/stories/FRAUD-1/dependencies/FRAUD-2").status_code == 204
    assert api("DELETE", "/api/v1/stories/FRAUD-1/dependencies/FRAUD-2").status_code == 404
    listed = api("GET", "/api/v1/stories/FRAUD-1/dependencies").json
    assert listed == {
        "blocked_by": [],
        "blocks": [{"key": "FRAUD-3", "title": "Story 3", "status": "todo", "done": False}],
    }
    assert pairs(db_session) == {(1, 3)}


def test_api_dependency_access(db_session, team, clients):
    stories(db_session, team, 2)
    body = {"blocked_by": "FRAUD-2"}
    assert clients["view"].api(
        "POST", "/api/v1/stories/FRAUD-1/dependencies", body
    ).status_code == (403)
    assert clients["none"].api(
        "POST", "/api/v1/stories/FRAUD-1/dependencies", body
    ).status_code == (404)
    assert clients["none"].get("/api/v1/stories/FRAUD-1/dependencies").status_code == 404
    assert clients["view"].get("/api/v1/stories/FRAUD-1/dependencies").status_code == 200
    assert pairs(db_session) == set()


def test_blockers_of_many_stories_in_one_go(db_session, team):
    one, two, three = stories(db_session, team, 3)
    add_blocker(db_session, one, two, by=team.editor, now=NOW)
    add_blocker(db_session, one, three, by=team.editor, now=NOW)
    add_blocker(db_session, two, three, by=team.editor, now=NOW)
    db_session.commit()
    found = blockers_of(db_session, [one.id, two.id, three.id], team.editor)
    assert {k: [x.key for x in v] for k, v in found.items()} == {
        one.id: ["FRAUD-2", "FRAUD-3"],
        two.id: ["FRAUD-3"],
    }
