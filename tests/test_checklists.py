"""A story's checklist: add, tick, rename, move and delete items from the story page (plain form
posts, or a fetch for ticking) and the API; limits with clear messages; "2/5" on the board card
and in the story JSON; who may change it; bounded queries."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from planner.domain import ValidationError
from planner.domain.checklists import add_item, move_item, progress_of, set_done
from planner.models import ChecklistItem, StoryEvent


def items(db_session, story) -> list[tuple[str, bool]]:
    db_session.expire_all()
    return [
        (i.text, i.done)
        for i in db_session.scalars(
            select(ChecklistItem)
            .where(ChecklistItem.story_id == story.id)
            .order_by(ChecklistItem.position, ChecklistItem.id)
        )
    ]


def item_id(db_session, text: str) -> int:
    return db_session.scalar(select(ChecklistItem.id).where(ChecklistItem.text == text))


# --- the rules ---------------------------------------------------------------------------------


def test_items_are_trimmed_limited_and_kept_in_order(db_session, team, story_one):
    a = add_item(db_session, story_one, "  Freeze the hold-out set ")
    b = add_item(db_session, story_one, "Compare PR-AUC")
    c = add_item(db_session, story_one, "x" * 200)  # exactly the limit
    assert [a.text, b.text, len(c.text)] == ["Freeze the hold-out set", "Compare PR-AUC", 200]
    for text, message in (
        ("   ", "Checklist item: write its text first (1 to 200 characters)."),
        ("x" * 201, "Checklist item: keep it to 200 characters (it has 201)."),
        (
            "two\nlines",
            "Checklist item: remove the line breaks or control characters: "
            "this field is plain one line.",
        ),
        (None, "Checklist item: write its text first (1 to 200 characters)."),
    ):
        with pytest.raises(ValidationError) as caught:
            add_item(db_session, story_one, text)
        assert caught.value.errors == {"text": message}
    move_item(db_session, story_one, c, "up")
    move_item(db_session, story_one, a, "up")  # already first: stays
    set_done(db_session, b, True)
    db_session.commit()
    assert items(db_session, story_one) == [
        ("Freeze the hold-out set", False),
        ("x" * 200, False),
        ("Compare PR-AUC", True),
    ]
    assert progress_of(db_session, [story_one.id])[story_one.id].label == "1/3"


def test_a_story_holds_at_most_fifty_items(db_session, team, story_one):
    for n in range(50):
        add_item(db_session, story_one, f"Item {n}")
    with pytest.raises(ValidationError) as caught:
        add_item(db_session, story_one, "One more")
    assert caught.value.errors == {"text": "A checklist holds at most 50 items; this one is full."}


# --- the story page ----------------------------------------------------------------------------


def test_an_editor_works_the_checklist_without_javascript(db_session, team, clients, story_one):
    client = clients["edit"]
    base = "/projects/FRAUD/stories/1/checklist"
    for text in ("Freeze the hold-out set", "Train the baseline", "Compare PR-AUC"):
        assert client.post_form(base, {"text": text}).status_code == 302
    train = item_id(db_session, "Train the baseline")
    freeze = item_id(db_session, "Freeze the hold-out set")
    answer = client.post_form(f"{base}/{train}/tick", {"done": "1"})
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(f"/projects/FRAUD/stories/1#item-{train}")
    client.post_form(f"{base}/{freeze}/rename", {"text": " Freeze the March hold-out "})
    client.post_form(f"{base}/{freeze}/move", {"direction": "down"})
    compare = item_id(db_session, "Compare PR-AUC")
    client.post_form(f"{base}/{compare}/delete")
    assert items(db_session, story_one) == [
        ("Train the baseline", True),
        ("Freeze the March hold-out", False),
    ]
    page = client.get("/projects/FRAUD/stories/1").get_data(as_text=True)
    assert '<span class="small muted" data-checklist-progress>1/2</span>' in page
    assert f'<li id="item-{train}" class="checklist-item is-done">' in page
    client.post_form(f"{base}/{train}/tick", {"done": "0"})
    assert items(db_session, story_one)[0] == ("Train the baseline", False)
    # Ticking is not a tracked change: no history, no new version.
    assert db_session.scalar(select(StoryEvent.id).where(StoryEvent.field != "created")) is None
    assert story_one.version == 1


def test_ticking_by_fetch_answers_the_new_progress(db_session, team, clients, story_one):
    first = add_item(db_session, story_one, "One")
    add_item(db_session, story_one, "Two")
    db_session.commit()
    answer = clients["edit"].post_form(
        f"/projects/FRAUD/stories/1/checklist/{first.id}/tick",
        {"done": "1"},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 200
    assert answer.json == {"id": first.id, "done": True, "checklist": {"done": 1, "total": 2}}


def test_bad_items_are_refused_with_a_message_and_change_nothing(
    db_session, team, clients, story_one
):
    client = clients["edit"]
    base = "/projects/FRAUD/stories/1/checklist"
    client.post_form(base, {"text": "Keep me"})
    kept = item_id(db_session, "Keep me")
    for url, data, message in (
        (base, {"text": "  "}, "Item not added: Checklist item: write its text first"),
        (base, {"text": "y" * 201}, "Item not added: Checklist item: keep it to 200 characters"),
        (f"{base}/{kept}/rename", {"text": ""}, "Item not renamed: Checklist item: write its"),
        (f"{base}/{kept}/move", {"direction": "sideways"}, "Item not moved: Move an item up or"),
        (f"{base}/{kept}/tick", {"done": "maybe"}, "Item not changed: send done=1 to tick it"),
    ):
        answer = client.post_form(url, data)
        assert answer.status_code == 302, url
        assert message in client.get("/projects/FRAUD/stories/1").get_data(as_text=True), url
    assert items(db_session, story_one) == [("Keep me", False)]
    assert client.post_form(f"{base}/99999/tick", {"done": "1"}).status_code == 404


@pytest.mark.parametrize(("level", "status"), [("manage", 302), ("view", 403), ("none", 404)])
def test_who_may_change_the_checklist(db_session, team, clients, story_one, level, status):
    item = add_item(db_session, story_one, "Existing")
    db_session.commit()
    base = "/projects/FRAUD/stories/1/checklist"
    client = clients[level]
    assert client.post_form(base, {"text": "New"}).status_code == status
    assert client.post_form(f"{base}/{item.id}/tick", {"done": "1"}).status_code == status
    assert client.post_form(f"{base}/{item.id}/rename", {"text": "R"}).status_code == status
    assert client.post_form(f"{base}/{item.id}/delete").status_code == status
    expected = [] if status == 302 else [("Existing", False)]
    assert items(db_session, story_one) == expected + ([("New", False)] if status == 302 else [])


def test_the_checklist_needs_the_csrf_token(db_session, team, clients, story_one):
    answer = clients["edit"].post("/projects/FRAUD/stories/1/checklist", data={"text": "x"})
    assert answer.status_code == 400
    assert items(db_session, story_one) == []


def test_a_view_member_sees_the_checklist_without_forms(db_session, team, clients, story_one):
    add_item(db_session, story_one, "Visible item")
    db_session.commit()
    page = clients["view"].get("/projects/FRAUD/stories/1").get_data(as_text=True)
    assert "Visible item" in page
    assert "/checklist" not in page


# --- board, story JSON and API -----------------------------------------------------------------


def test_the_board_card_and_story_json_show_progress(db_session, team, clients, story_one):
    for n in range(5):
        item = add_item(db_session, story_one, f"Step {n}")
        if n < 2:
            set_done(db_session, item, True)
    db_session.commit()
    board = clients["view"].get("/projects/FRAUD/board").get_data(as_text=True)
    card = board[board.index('id="c1"') :]
    card = card[: card.index("</li>")]
    assert "☑ 2/5</span>" in card
    story = clients["view"].get("/api/v1/stories/FRAUD-1").json
    assert story["checklist"] == {"done": 2, "total": 5}


def test_api_checklist(db_session, team, clients, story_one):
    api = clients["edit"].api
    url = "/api/v1/stories/FRAUD-1/checklist"
    first = api("POST", url, {"text": " Freeze the hold-out "})
    assert first.status_code == 201
    assert first.json["text"] == "Freeze the hold-out"
    assert first.json["done"] is False
    second = api("POST", url, {"text": "Baseline", "done": True}).json
    moved = api("PATCH", f"{url}/{second['id']}", {"move": "up", "text": "Train baseline"})
    assert moved.status_code == 200
    assert api("PATCH", f"{url}/{first.json['id']}", {"done": True}).json["done"] is True
    listed = api("GET", url).json
    assert [(i["text"], i["done"]) for i in listed["items"]] == [
        ("Train baseline", True),
        ("Freeze the hold-out", True),
    ]
    assert (listed["done"], listed["total"]) == (2, 2)
    empty = api("POST", url, {"text": ""})
    assert empty.status_code == 422
    assert empty.json["error"]["details"] == {
        "text": "Checklist item: write its text first (1 to 200 characters)."
    }
    assert api("POST", url, {"text": 5}).status_code == 422
    assert api("PATCH", f"{url}/{second['id']}", {"move": "left"}).status_code == 422
    assert api("DELETE", f"{url}/{second['id']}").status_code == 204
    assert api("DELETE", f"{url}/{second['id']}").status_code == 404
    assert clients["view"].api("POST", url, {"text": "no"}).status_code == 403
    assert clients["none"].get(url).status_code == 404
    assert items(db_session, story_one) == [("Freeze the hold-out", True)]


def test_story_page_and_board_queries_do_not_grow_with_items(
    db_session, team, clients, story_one, count_queries
):
    client = clients["edit"]

    def counts() -> tuple[int, int]:
        with count_queries() as board:
            assert client.get("/projects/FRAUD/board").status_code == 200
        with count_queries() as page:
            assert client.get("/projects/FRAUD/stories/1").status_code == 200
        return board.count, page.count

    add_item(db_session, story_one, "One")
    db_session.commit()
    few = counts()
    for n in range(30):
        set_done(db_session, add_item(db_session, story_one, f"Item {n}"), n % 2 == 0)
    db_session.commit()
    assert counts() == few
