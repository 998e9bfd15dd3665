"""The team board, its no-JavaScript moves, the refresh endpoint, comments and My work."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from planner.domain.context import load_context
from planner.domain.sprints import create_sprint
from planner.domain.stories import update_story
from planner.models import Comment, Story, StoryEvent
from planner.timeutil import iso_utc
from planner.web import ago
from tests import factories


@pytest.fixture
def sprint(db_session, team):
    row = create_sprint(
        db_session,
        team.project,
        {"name": "Sprint 7", "start": "2026-03-02", "end": "2026-03-13", "goal": "Gold set"},
    )
    db_session.commit()
    return row


@pytest.fixture
def cards(db_session, team, sprint):
    """Five cards: 3 to do (one elsewhere), one in progress, one done, across stages."""
    made = {}
    for title, status, stage, points, who in [
        ("Label batch 1", "todo", "data_labeling", 5, team.editor.id),
        ("Label batch 2", "todo", "data_labeling", 3, None),
        ("Train baseline", "in_progress", "modeling", 8, team.editor.id),
        ("Freeze split", "done", "data_preparation", 2, team.manager.id),
        ("Check drift", "todo", "monitoring", 1, team.manager.id),
    ]:
        made[title] = factories.story(
            db_session,
            team.project,
            team.manager,
            title=title,
            status=status,
            stage=stage,
            points=points,
            assignee=who,
            sprint=sprint.id,
            role="data_scientist" if points > 4 else None,
        )
    factories.story(db_session, team.project, team.manager, title="Not in the sprint")
    db_session.commit()
    return made


def column(page: str, status: str) -> list[str]:
    """Titles of the cards in one status column of a board without lanes."""
    start = page.index(f'data-status="{status}"')
    end = page.find("</ul>", start)
    return re.findall(r'class="card-title"[^>]*>([^<]+)</a>', page[start:end])


def test_the_board_shows_each_card_in_its_status_column(clients, cards):
    page = clients["view"].get("/projects/FRAUD/board").get_data(as_text=True)
    assert column(page, "todo") == ["Label batch 1", "Label batch 2", "Check drift"]
    assert column(page, "in_progress") == ["Train baseline"]
    assert column(page, "review") == []
    assert column(page, "done") == ["Freeze split"]
    assert "Not in the sprint" not in page
    assert "3 · 9 pts" in page  # to do: 5 + 3 + 1
    assert "2 of 19 points done" in page
    assert "Sprint 7 board" in page and "Gold set" in page


def test_swimlanes_by_stage_assignee_and_epic(clients, cards):
    by_stage = clients["view"].get("/projects/FRAUD/board?lanes=stage").get_data(as_text=True)
    assert re.findall(r'class="lane-title"[^>]*>([^<]+?) <', by_stage) == [
        "Data labeling",
        "Data preparation &amp; features",
        "Modeling &amp; training",
        "Monitoring &amp; maintenance",
    ]
    by_person = clients["view"].get("/projects/FRAUD/board?lanes=assignee").get_data(as_text=True)
    assert re.findall(r'class="lane-title"[^>]*>([^<]+?) <', by_person) == [
        "Maya Okafor",
        "Priya Raman",
        "Unassigned",
    ]
    by_epic = clients["view"].get("/projects/FRAUD/board?lanes=epic").get_data(as_text=True)
    assert re.findall(r'class="lane-title"[^>]*>([^<]+?) <', by_epic) == ["No epic"]


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("mine=1", ["Label batch 1", "Train baseline"]),  # Priya's cards
        ("role=data_scientist", ["Label batch 1", "Train baseline"]),
        ("stage=data_labeling", ["Label batch 1", "Label batch 2"]),
        ("stage=data_labeling&mine=1", ["Label batch 1"]),
    ],
)
def test_board_filters(clients, cards, query, titles):
    page = clients["edit"].get(f"/projects/FRAUD/board?{query}").get_data(as_text=True)
    assert sorted(re.findall(r'class="card-title"[^>]*>([^<]+)</a>', page)) == sorted(titles)


def test_view_members_get_no_move_controls_and_cannot_move(clients, cards, db_session):
    page = clients["view"].get("/projects/FRAUD/board").get_data(as_text=True)
    assert 'data-editable="no"' in page
    assert "card-move" not in page and "Sortable.min.js" not in page
    editable = clients["edit"].get("/projects/FRAUD/board").get_data(as_text=True)
    # One status form for the page (board.js moves it into the card that has the focus); each
    # card links to the board with that form drawn in it, for browsers without JavaScript.
    assert 'data-editable="yes"' in editable and editable.count('class="card-move"') == 1
    assert editable.count('class="mv"') == 5
    story = cards["Label batch 1"]
    response = clients["view"].post_form(
        f"/projects/FRAUD/board/{story.number}", {"status": "done", "version": "1"}
    )
    assert response.status_code == 403
    api = clients["view"].api(
        "PATCH", f"/api/v1/stories/FRAUD-{story.number}", {"version": 1, "status": "done"}
    )
    assert api.status_code == 403
    db_session.expire_all()
    assert db_session.get(Story, story.id).status == "todo"


def test_the_card_form_moves_a_card_without_javascript(clients, cards, db_session, team):
    story = cards["Label batch 2"]
    response = clients["edit"].post_form(
        f"/projects/FRAUD/board/{story.number}",
        {"status": "in_progress", "version": "1", "next": "/projects/FRAUD/board?lanes=stage"},
        follow_redirects=False,
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/projects/FRAUD/board?lanes=stage#c{story.number}"
    events = db_session.scalars(select(StoryEvent).where(StoryEvent.story_id == story.id)).all()
    assert [(e.field, e.from_value, e.to_value, e.by_id) for e in events] == [
        ("status", "todo", "in_progress", team.editor.id)
    ]


def test_a_stale_card_form_is_refused_and_says_who_moved_it(clients, cards, db_session):
    story = cards["Label batch 1"]
    clients["manage"].post_form(
        f"/projects/FRAUD/board/{story.number}", {"status": "review", "version": "1"}
    )
    response = clients["edit"].post_form(
        f"/projects/FRAUD/board/{story.number}",
        {"status": "done", "version": "1"},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert f"FRAUD-{story.number} not moved: Maya Okafor moved this from To do to Review" in page
    db_session.expire_all()
    assert db_session.get(Story, story.id).status == "review"
    assert db_session.scalar(select(func.count(StoryEvent.id))) == 1


def test_an_experiment_is_not_done_until_its_outcome_is_set(clients, db_session, team, sprint):
    story = factories.story(
        db_session,
        team.project,
        team.editor,
        type="experiment",
        title="LightGBM vs logistic regression",
        sprint=sprint.id,
    )
    db_session.commit()
    refused = clients["edit"].post_form(
        f"/projects/FRAUD/board/{story.number}",
        {"status": "done", "version": "1"},
        follow_redirects=True,
    )
    assert "An experiment is done only with an outcome" in refused.get_data(as_text=True)
    done = clients["edit"].api(
        "PATCH",
        f"/api/v1/stories/FRAUD-{story.number}",
        {"version": 1, "status": "done", "outcome": "refuted", "result": "PR-AUC 0.61 vs 0.62"},
    )
    assert done.status_code == 200
    assert (done.json["status"], done.json["outcome"], done.json["result"]) == (
        "done",
        "refuted",
        "PR-AUC 0.61 vs 0.62",
    )


def test_the_board_refresh_returns_only_what_changed(clients, cards, db_session, team, sprint):
    client = clients["view"]
    first = client.get(f"/api/v1/sprints/{sprint.id}/board").json
    assert sorted(c["number"] for c in first["cards"]) == [1, 2, 3, 4, 5]
    assert len(first["changed"]) == 5  # no `since`: everything
    since = first["now"]
    quiet = client.get(f"/api/v1/sprints/{sprint.id}/board?since={since}").json
    assert quiet["changed"] == []
    story = cards["Train baseline"]
    assert (
        clients["edit"]
        .api("PATCH", f"/api/v1/stories/FRAUD-{story.number}", {"version": 1, "status": "review"})
        .status_code
        == 200
    )
    after = client.get(f"/api/v1/sprints/{sprint.id}/board?since={since}&lanes=stage").json
    assert [(c["number"], c["version"], c["status"]) for c in after["changed"]] == [
        (3, 2, "review")
    ]
    stage_id = load_context(db_session, team.project).stages["modeling"].id
    assert after["changed"][0]["lane"] == str(stage_id)
    assert "html" not in after["changed"][0]  # the API answers JSON only
    assert {"number": 3, "version": 2} in after["cards"]
    # The page's own refresh draws the changed card as the page does.
    page_refresh = client.get(
        f"/projects/FRAUD/board/changes?sprint={sprint.id}&since={since}&lanes=stage"
    ).json
    assert [(c["number"], c["lane"]) for c in page_refresh["changed"]] == [(3, str(stage_id))]
    html = page_refresh["changed"][0]["html"]
    assert 'id="c3"' in html and 'data-version="2"' in html
    assert client.get("/projects/FRAUD/board/changes?sprint=999").status_code == 404
    mine = client.get(f"/api/v1/sprints/{sprint.id}/board?mine=1").json
    assert sorted(c["number"] for c in mine["cards"]) == []  # Helen has no cards
    bad = client.get(f"/api/v1/sprints/{sprint.id}/board?since=yesterday")
    assert bad.status_code == 422 and "since" in bad.json["error"]["details"]
    assert clients["none"].get(f"/api/v1/sprints/{sprint.id}/board").status_code == 404


def test_comments_are_markdown_without_raw_html_and_only_authors_delete(
    clients, cards, db_session, team
):
    url = "/projects/FRAUD/stories/1"
    added = clients["edit"].post_form(
        f"{url}/comments", {"body": "Kappa is **0.81** <script>alert(1)</script>"}
    )
    assert added.status_code == 302
    page = clients["view"].get(url).get_data(as_text=True)
    assert "<strong>0.81</strong>" in page and "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    empty = clients["edit"].post_form(f"{url}/comments", {"body": "   "}, follow_redirects=True)
    assert "Comment not added: Write something first." in empty.get_data(as_text=True)
    # A stakeholder may comment: it is how they ask (docs/rules.md, Access).
    assert clients["view"].post_form(f"{url}/comments", {"body": "hello"}).status_code == 302
    comment = db_session.scalar(select(Comment).order_by(Comment.id))
    other = factories.account(db_session, "kemal@example.com", "Kemal")
    factories.member(db_session, team.project, other, "edit")
    db_session.commit()
    from tests.conftest import sign_in

    kemal = sign_in(clients["edit"].application, other)
    assert kemal.post_form(f"{url}/comments/{comment.id}/delete").status_code == 403
    assert clients["manage"].post_form(f"{url}/comments/{comment.id}/delete").status_code == 302
    assert db_session.scalars(select(Comment.body)).all() == ["hello"]


def test_my_work_lists_my_open_stories_by_sprint(clients, cards, db_session, team, sprint):
    other = factories.project(db_session, "CV", "Vision", owner=team.manager)
    factories.member(db_session, other, team.editor, "edit")
    factories.story(
        db_session, other, team.manager, title="Annotate 500 images", assignee=team.editor.id
    )
    hidden = factories.project(db_session, "SECRET", "Secret", owner=team.outsider)
    factories.member(db_session, hidden, team.editor, "edit")
    factories.story(db_session, hidden, team.outsider, title="Secret work", assignee=team.editor.id)
    db_session.flush()
    from planner.models import Membership

    db_session.delete(
        db_session.scalar(
            select(Membership).where(
                Membership.project_id == hidden.id, Membership.account_id == team.editor.id
            )
        )
    )
    db_session.commit()
    page = clients["edit"].get("/my-work").get_data(as_text=True)
    titles = re.findall(r'<a href="/projects/[A-Z]+/stories/\d+">([^<]+)</a>', page)
    # Sprint 7 (planned) in FRAUD first, then the CV backlog; done work and others' work left out.
    assert titles == ["Label batch 1", "Train baseline", "Annotate 500 images"]
    assert "Secret work" not in page


def test_relative_times_read_naturally():
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    assert ago(now - timedelta(seconds=20), now) == "just now"
    assert ago(now - timedelta(minutes=1), now) == "1 minute ago"
    assert ago(now - timedelta(minutes=42), now) == "42 minutes ago"
    assert ago(now - timedelta(hours=2), now) == "2 hours ago"
    assert ago(now - timedelta(hours=30), now) == "yesterday"
    assert ago(now - timedelta(days=6), now) == "6 days ago"
    assert ago(now - timedelta(days=70), now) == "2 months ago"
    assert ago(now - timedelta(days=800), now) == "2 years ago"


def test_history_says_who_did_what_and_when(clients, cards, db_session, team):
    story = cards["Label batch 2"]
    ctx = load_context(db_session, team.project)
    update_story(
        db_session,
        ctx,
        story,
        {"status": "in_progress", "assignee": team.editor.id},
        by=team.editor,
        now=datetime.now(UTC) - timedelta(hours=2),
    )
    db_session.commit()
    page = re.sub(
        r"\s+",
        " ",
        clients["view"].get(f"/projects/FRAUD/stories/{story.number}").get_data(as_text=True),
    )
    assert re.search(
        r"<strong>Priya Raman</strong> moved this from To do to In progress, "
        r"<time [^>]+>2 hours ago</time>",
        page,
    )
    assert "<strong>Priya Raman</strong> took this," in page


@pytest.mark.parametrize("count", [5, 60])
def test_board_and_refresh_run_a_bounded_number_of_queries(
    db_session, clients, team, sprint, count_queries, count
):
    for i in range(count):
        factories.story(
            db_session,
            team.project,
            team.manager,
            title=f"Card {i}",
            status=["todo", "in_progress", "review", "done"][i % 4],
            stage=["modeling", "evaluation"][i % 2],
            assignee=team.editor.id,
            sprint=sprint.id,
            points=3,
        )
    db_session.commit()
    client = clients["edit"]
    for url, bound in (
        # 10, and the bell's unread count; +2 for labels (the filter's choices, the cards' chips)
        # +2 on the pages for the cards' blockers and checklist progress (story_parts)
        # +1 on the pages for the stage gates that started cards may be behind
        ("/projects/FRAUD/board?lanes=assignee", 11 + 2 + 2 + 1),
        (f"/api/v1/sprints/{sprint.id}/board", 11 + 2),
        (f"/projects/FRAUD/board/changes?sprint={sprint.id}&lanes=stage", 11 + 2 + 2 + 1),
    ):
        client.get(url)
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        assert counter.count <= bound, (url, counter.count)
    since = iso_utc(datetime.now(UTC))
    assert client.get(f"/api/v1/sprints/{sprint.id}/board?since={since}").json["changed"] == []


def test_the_totals_come_from_one_place_for_the_page_and_its_refresh(clients, cards, sprint):
    # By hand: to do 5 + 3 + 1 = 9 points on 3 cards; in progress 8 on 1; done 2 on 1.
    # 2 of 19 points done = 10.5%, shown as 11%.
    client = clients["edit"]
    page = client.get("/projects/FRAUD/board").get_data(as_text=True)
    assert "2 of 19 points done" in page and 'class="pct-11"' in page
    for status, label in (
        ("todo", "3 · 9 pts"),
        ("in_progress", "1 · 8 pts"),
        ("review", "0 · 0 pts"),
        ("done", "1 · 2 pts"),
    ):
        head = page.index(f'data-lane="all" data-status="{status}"')
        assert f"data-count>{label}</span>" in page[head : head + 300], status
    totals = client.get(f"/api/v1/sprints/{sprint.id}/board").json["totals"]
    assert (totals["done_points"], totals["all_points"], totals["percent_done"]) == (2, 19, 11)
    assert sorted((c["status"], c["cards"], c["points"]) for c in totals["columns"]) == [
        ("done", 1, 2),
        ("in_progress", 1, 8),
        ("todo", 3, 9),
    ]
    # Filtered to one role: only the two data-scientist cards (5 to do, 8 in progress).
    role = client.get(f"/api/v1/sprints/{sprint.id}/board?role=data_scientist").json["totals"]
    assert (role["done_points"], role["all_points"], role["percent_done"]) == (0, 13, 0)
    assert role["progress_label"] == "0 of 13 points done (filtered)"
