"""The Stories list (/projects/KEY): the backlog's filters kept in the URL, done stories hidden
by default, bad values named on the page and ignored, label chips; and the one filter mechanism
(planner.domain.story_filters) as the backlog, the board and the API use it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from planner.domain.context import load_context
from planner.domain.epics import create_epic
from planner.domain.labels import set_colour, set_labels
from planner.domain.story_filters import check_filters
from planner.models import Label
from tests import factories


@pytest.fixture
def stories(db_session, team):
    """FRAUD with five stories (numbers 1-5) worked through by hand in each test:

    1 Label batch 1   todo         data_labeling annotator      Priya  Sprint 1 E1 gdpr
    2 Label batch 2   todo         data_labeling annotator      nobody backlog  E1 needs-data
    3 Train baseline  in_progress  modeling      data_scientist Priya  Sprint 1 -  gdpr, needs-data
                      (an experiment)
    4 Old cleanup     done         data_labeling annotator      Maya   Sprint 1 -  -
    5 Write docs      review       no stage      no role        nobody backlog  -  -
    """
    project = team.project
    active = factories.sprint(
        db_session,
        project,
        "Sprint 1",
        date(2026, 3, 2),
        date(2026, 3, 13),
        state="active",
        started_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
    )
    factories.sprint(db_session, project, "Sprint 2", date(2026, 3, 16), date(2026, 3, 27))
    epic = create_epic(db_session, load_context(db_session, project), {"title": "Gold-label set"})
    rows = [
        dict(
            title="Label batch 1",
            stage="data_labeling",
            role="annotator",
            assignee=team.editor.id,
            sprint=active.id,
            epic=epic.key,
        ),
        dict(title="Label batch 2", stage="data_labeling", role="annotator", epic=epic.key),
        dict(
            title="Train baseline",
            type="experiment",
            status="in_progress",
            stage="modeling",
            role="data_scientist",
            assignee=team.editor.id,
            sprint=active.id,
        ),
        dict(
            title="Old cleanup",
            status="done",
            stage="data_labeling",
            role="annotator",
            assignee=team.manager.id,
            sprint=active.id,
        ),
        dict(title="Write docs", status="review"),
    ]
    made = [factories.story(db_session, project, team.manager, **row) for row in rows]
    set_labels(db_session, made[0], ["gdpr"])
    set_labels(db_session, made[1], ["needs-data"])
    set_labels(db_session, made[2], ["gdpr", "needs-data"])
    gdpr = db_session.query(Label).filter_by(project_id=project.id, name="gdpr").one()
    set_colour(db_session, gdpr, "#C62828")
    db_session.commit()
    return {"sprint": active, "epic": epic, "stories": made, "gdpr": gdpr}


def numbers(html: str, row: str = "story-row") -> list[int]:
    return sorted(int(n) for n in re.findall(rf'class="{row}" id="s(\d+)"', html))


def listed(client, query: str = "") -> list[int]:
    response = client.get(f"/projects/FRAUD?{query}")
    assert response.status_code == 200
    return numbers(response.get_data(as_text=True))


def test_done_stories_are_hidden_until_asked_for(clients, stories):
    client = clients["edit"]
    assert listed(client) == [1, 2, 3, 5]
    assert listed(client, "status=open") == [1, 2, 3, 5]
    assert listed(client, "status=all") == [1, 2, 3, 4, 5]
    assert listed(client, "status=done") == [4]
    assert listed(client, "status=review") == [5]
    page = client.get("/projects/FRAUD").get_data(as_text=True)
    assert "4 of 5 stories · done stories hidden" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("stage=data_labeling", [1, 2]),  # 4 is done
        ("stage=data_labeling&status=all", [1, 2, 4]),
        ("stage=none", [5]),
        ("role=annotator", [1, 2]),
        ("role=none", [5]),
        ("type=experiment", [3]),
        ("assignee=me", [1, 3]),  # the editor, Priya, is signed in
        ("assignee=none", [2, 5]),
        ("assignee=priya%40example.com", [1, 3]),
        ("epic=E1", [1, 2]),
        ("epic=none", [3, 5]),
        ("sprint=backlog", [2, 5]),
        ("label=gdpr", [1, 3]),
        ("label=GDPR", [1, 3]),  # a label's name in any case
        ("label=needs-data", [2, 3]),
        ("q=batch", [1, 2]),
        ("q=fraud-3", [3]),
        ("label=gdpr&type=experiment", [3]),
        ("label=needs-data&sprint=backlog&assignee=none", [2]),
    ],
)
def test_each_filter_narrows_the_list(clients, stories, query, expected):
    assert listed(clients["edit"], query) == expected


def test_sprint_and_assignee_by_id(clients, stories, team):
    client = clients["edit"]
    sprint_id = stories["sprint"].id
    assert listed(client, f"sprint={sprint_id}") == [1, 3]
    assert listed(client, f"sprint={sprint_id}&status=all") == [1, 3, 4]
    assert listed(client, f"assignee={team.manager.id}&status=all") == [4]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("stage=nope", "FRAUD has no stage &#39;nope&#39;."),
        ("assignee=abc", "FRAUD has no assignee &#39;abc&#39;."),
        ("sprint=12x", "FRAUD has no sprint &#39;12x&#39;."),
        (
            "sprint=99999999999999999999999",
            "FRAUD has no sprint &#39;99999999999999999999999&#39;.",
        ),
        ("label=unknown", "FRAUD has no label &#39;unknown&#39;."),
        ("status=finished", "FRAUD has no status &#39;finished&#39;."),
        ("type=saga", "FRAUD has no story type &#39;saga&#39;."),
    ],
)
def test_bad_filter_values_are_named_and_ignored(clients, stories, query, message):
    response = clients["edit"].get(f"/projects/FRAUD?{query}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Some filters were ignored" in page and message in page
    assert numbers(page) == [1, 2, 3, 5]  # the default list


def test_a_bad_value_leaves_the_good_ones_working(clients, stories):
    page = clients["edit"].get("/projects/FRAUD?stage=nope&label=gdpr").get_data(as_text=True)
    assert "FRAUD has no stage &#39;nope&#39;." in page
    assert numbers(page) == [1, 3]


def test_the_form_shows_the_filter_it_applied(clients, stories):
    page = clients["edit"].get("/projects/FRAUD?label=gdpr&status=all").get_data(as_text=True)
    assert '<option value="gdpr" selected>gdpr</option>' in page
    assert '<option value="all" selected>Any status</option>' in page
    assert 'name="q" value=""' in page


def test_label_chips_carry_their_colour_class(clients, stories):
    gdpr_id = stories["gdpr"].id
    page = clients["view"].get("/projects/FRAUD?q=train").get_data(as_text=True)
    assert f'<span class="chip label coloured lc-{gdpr_id}">gdpr</span>' in page
    assert '<span class="chip label">needs-data</span>' in page  # no colour: the neutral chip
    assert '<link rel="stylesheet" href="/projects/FRAUD/labels.css">' in page


def test_members_see_the_list_and_outsiders_get_404(clients, stories):
    assert listed(clients["view"], "label=gdpr") == [1, 3]
    assert clients["none"].get("/projects/FRAUD?label=gdpr").status_code == 404


@pytest.mark.parametrize("count", [3, 60])
def test_the_filtered_list_runs_a_bounded_number_of_queries(
    db_session, clients, team, count_queries, count
):
    for i in range(count):
        story = factories.story(db_session, team.project, team.manager, title=f"Story {i}")
        set_labels(db_session, story, ["gdpr", f"batch-{i % 3}"])
    db_session.commit()
    client = clients["manage"]
    url = "/projects/FRAUD?label=gdpr&status=all&q=story"
    client.get(url)
    with count_queries() as counter:
        page = client.get(url).get_data(as_text=True)
    assert page.count('class="story-row"') == count
    # user, access (+roles), stages, members (+accounts, +roles), sprints, epics, labels, the
    # stories, their labels, the total, saved views, and the bell's unread count
    assert counter.count <= 15, counter.statements


# --- the same filters on the backlog, the board and the API -----------------------------------


def test_the_backlog_filters_by_label(clients, stories):
    client = clients["edit"]
    page = client.get("/projects/FRAUD/backlog?label=gdpr").get_data(as_text=True)
    assert numbers(page, "backlog-row") == [1, 3]
    assert f'class="chip label coloured lc-{stories["gdpr"].id}">gdpr</span>' in page
    page = client.get("/projects/FRAUD/backlog?label=nope").get_data(as_text=True)
    assert "FRAUD has no label &#39;nope&#39;." in page
    assert numbers(page, "backlog-row") == [1, 2, 3, 4, 5]  # the done story of Sprint 1 too


def test_the_board_filters_by_label(clients, stories):
    client = clients["edit"]

    def cards(query: str) -> list[int]:
        page = client.get(f"/projects/FRAUD/board?{query}").get_data(as_text=True)
        return sorted(int(n) for n in re.findall(r'class="board-card[^"]*" id="c(\d+)"', page))

    assert cards("") == [1, 3, 4]  # Sprint 1, the active sprint
    assert cards("label=gdpr") == [1, 3]
    assert cards("label=needs-data") == [3]
    assert cards("label=needs-data&mine=1") == [3]
    assert cards("label=gdpr&stage=data_labeling") == [1]
    assert cards("label=nope") == [1, 3, 4]  # ignored


def test_the_api_lists_labels_and_filters_by_them(clients, stories):
    client = clients["view"]
    body = client.get("/api/v1/projects/FRAUD/stories?label=gdpr").get_json()
    assert [(s["key"], s["labels"]) for s in body["stories"]] == [
        ("FRAUD-1", ["gdpr"]),
        ("FRAUD-3", ["gdpr", "needs-data"]),
    ]
    one = client.get("/api/v1/stories/FRAUD-2").get_json()
    assert one["labels"] == ["needs-data"]
    assert client.get("/api/v1/stories/FRAUD-5").get_json()["labels"] == []
    refused = client.get("/api/v1/projects/FRAUD/stories?label=nope")
    assert refused.status_code == 422
    assert "FRAUD has no label 'nope'." in refused.get_data(as_text=True)


def test_an_exactly_named_label_wins_over_one_that_differs_in_case(db_session, team):
    ctx = load_context(db_session, team.project)
    labels = ["GDPR", "gdpr", "legal"]
    assert check_filters(ctx, {"label": "gdpr"}, labels=labels)[0] == {"label": "gdpr"}
    assert check_filters(ctx, {"label": "GDPR"}, labels=labels)[0] == {"label": "GDPR"}
    # No exact match: any case finds it.
    assert check_filters(ctx, {"label": "Legal"}, labels=labels)[0] == {"label": "legal"}
