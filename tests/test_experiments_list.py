"""The Experiments page: experiment stories only, filtered by outcome in the URL, a bounded number
of queries, in the project navigation, members only."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from planner.models import Story
from tests import factories


@pytest.fixture
def experiments(db_session, team):
    """FRAUD-1 a feature; FRAUD-2..5 experiments: pending (in Sprint 1), confirmed (done),
    refuted (done, in Sprint 1), and one with its outcome cleared by an old import (none)."""
    sprint = factories.sprint(
        db_session,
        team.project,
        "Sprint 1",
        date(2026, 3, 2),
        date(2026, 3, 13),
        state="active",
        started_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
    )
    by = team.editor
    factories.story(db_session, team.project, by, title="Score endpoint")
    factories.story(
        db_session,
        team.project,
        by,
        title="Merchant embeddings",
        type="experiment",
        hypothesis="Merchant-category embeddings add 2 points of PR-AUC",
        metric="PR-AUC on the 2026-02 hold-out",
        target="+0.02",
        sprint=sprint.id,
    )
    factories.story(
        db_session,
        team.project,
        by,
        title="Night-time features",
        type="experiment",
        hypothesis="Hour-of-day features cut false positives",
        metric="False positives per 1,000",
        target="-10%",
        outcome="confirmed",
        status="done",
    )
    factories.story(
        db_session,
        team.project,
        by,
        title="Bigger trees",
        type="experiment",
        hypothesis="Depth 12 beats depth 8",
        outcome="refuted",
        status="done",
        sprint=sprint.id,
    )
    legacy = factories.story(db_session, team.project, by, title="Old <import>", type="experiment")
    db_session.flush()
    # An outcome left empty (data from before the rule), which the filter calls "none".
    db_session.execute(
        Story.__table__.update().where(Story.__table__.c.id == legacy.id).values(outcome=None)
    )
    db_session.commit()
    return sprint


def rows(page: str) -> list[list[str]]:
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td[^>]*>.*?</td>", row, re.S)
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def test_the_list_shows_every_experiment_with_its_fields(clients, experiments):
    response = clients["view"].get("/projects/FRAUD/experiments")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    # Newest first; the feature FRAUD-1 is not an experiment.
    assert rows(page) == [
        ["FRAUD-5", "Old &lt;import&gt;", "–", "–", "–", "No outcome", "Backlog", "To do"],
        [
            "FRAUD-4",
            "Bigger trees",
            "Depth 12 beats depth 8",
            "–",
            "–",
            "Refuted",
            "Sprint 1",
            "Done",
        ],
        [
            "FRAUD-3",
            "Night-time features",
            "Hour-of-day features cut false positives",
            "False positives per 1,000",
            "-10%",
            "Confirmed",
            "Backlog",
            "Done",
        ],
        [
            "FRAUD-2",
            "Merchant embeddings",
            "Merchant-category embeddings add 2 points of PR-AUC",
            "PR-AUC on the 2026-02 hold-out",
            "+0.02",
            "Pending",
            "Sprint 1",
            "To do",
        ],
    ]
    assert 'href="/projects/FRAUD/stories/4"' in page
    # The filter links with their counts: 4 in all, one of each outcome.
    for label, count in (("All", 4), ("Pending", 1), ("Confirmed", 1), ("Refuted", 1)):
        assert re.search(rf">{label} <span class=\"count\">{count}</span>", page), label
    assert '>Inconclusive <span class="count">0</span>' in page
    assert '>No outcome <span class="count">1</span>' in page
    # Stacked rows on a phone: each cell says what it is.
    assert 'class="experiment-table stack-on-phone"' in page
    assert 'data-label="Hypothesis"' in page


@pytest.mark.parametrize(
    ("outcome", "keys"),
    [
        ("pending", ["FRAUD-2"]),
        ("confirmed", ["FRAUD-3"]),
        ("refuted", ["FRAUD-4"]),
        ("inconclusive", []),
        ("none", ["FRAUD-5"]),
    ],
)
def test_the_outcome_filter_is_in_the_url(clients, experiments, outcome, keys):
    response = clients["view"].get(f"/projects/FRAUD/experiments?outcome={outcome}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    if keys:
        assert [row[0] for row in rows(page)] == keys
    else:
        assert "<tbody>" not in page
        assert "No experiment is inconclusive." in page
    assert re.search(rf'href="[^"]*outcome={outcome}" aria-current="page"', page)


def test_an_unknown_outcome_says_so_and_shows_everything(clients, experiments):
    response = clients["view"].get("/projects/FRAUD/experiments?outcome=maybe%3Cb%3E")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert (
        "There is no outcome &#39;maybe&lt;b&gt;&#39;: choose one of pending, confirmed, refuted, "
        "inconclusive, none. Showing every experiment." in page
    )
    assert len(rows(page)) == 4


def test_members_only_and_in_the_project_navigation(clients, experiments):
    assert clients["none"].get("/projects/FRAUD/experiments").status_code == 404
    assert clients["none"].get("/projects/NOPE/experiments").status_code == 404
    for level in ("manage", "edit", "view"):
        page = clients[level].get("/projects/FRAUD/experiments").get_data(as_text=True)
        assert (
            '<a href="/projects/FRAUD/experiments" aria-current="page">Experiments</a>' in page
        ), level
    story_page = clients["edit"].get("/projects/FRAUD/stories/1").get_data(as_text=True)
    assert '<a href="/projects/FRAUD/experiments" >Experiments</a>' in story_page
    # A new experiment starts from the list for those who edit; not offered to view members.
    assert "/projects/FRAUD/stories/new?type=experiment" in clients["edit"].get(
        "/projects/FRAUD/experiments"
    ).get_data(as_text=True)
    assert "New experiment" not in clients["view"].get("/projects/FRAUD/experiments").get_data(
        as_text=True
    )


def test_the_page_runs_a_bounded_number_of_queries(
    clients, db_session, team, experiments, count_queries
):
    client = clients["view"]
    client.get("/projects/FRAUD/experiments")  # warm up (session, account)
    with count_queries() as few:
        assert client.get("/projects/FRAUD/experiments").status_code == 200
    for n in range(30):
        factories.story(
            db_session,
            team.project,
            team.editor,
            title=f"Experiment {n}",
            type="experiment",
            sprint=experiments.id,
            hypothesis="h",
        )
    db_session.commit()
    with count_queries() as many:
        page = client.get("/projects/FRAUD/experiments").get_data(as_text=True)
    assert len(rows(page)) == 34
    assert many.count == few.count
    assert few.count <= 14, few.statements
