"""Backlog, sprint planning, start and close through the pages and the API, with the numbers on
screen worked out by hand."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from planner.domain.backlog import move_to_sprint, section_of
from planner.domain.context import load_context
from planner.domain.sprints import create_sprint, start_sprint
from planner.domain.stories import update_story
from planner.models import Sprint, SprintCapacity, Story, StoryEvent
from tests import factories


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def crew(db_session, team):
    """The team plus an annotator and an ML engineer, all able to take work."""
    kemal = factories.account(db_session, "kemal@example.com", "Kemal Yilmaz")
    chen = factories.account(db_session, "chen@example.com", "Chen Li")
    factories.member(db_session, team.project, kemal, "edit", ["annotator"])
    factories.member(db_session, team.project, chen, "edit", ["ml_engineer", "annotator"])
    db_session.commit()
    return {"kemal": kemal, "chen": chen}


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_planning_shows_the_over_committed_role_until_it_is_fixed(db_session, clients, team, crew):
    sprint = create_sprint(
        db_session, team.project, {"name": "Sprint 1", "start": "2026-03-02", "end": "2026-03-13"}
    )
    for title, role, points in [
        ("Label batch 1", "annotator", 8),
        ("Label batch 2", "annotator", 5),
        ("Train LightGBM", "ml_engineer", 5),
        ("Write summary", None, 2),
        ("Spike: graph features", "data_scientist", None),
    ]:
        factories.story(
            db_session, team.project, team.manager, title=title, role=role, points=points
        )
    db_session.commit()
    client = clients["manage"]
    url = f"/projects/FRAUD/sprints/{sprint.id}/plan"
    assert (
        client.post_form(url, {"action": "add", "story": ["1", "2", "3", "4", "5"]}).status_code
        == 302
    )
    response = client.post_form(
        url,
        {
            "action": "capacity",
            f"capacity-{crew['kemal'].id}": "6",
            f"capacity-{crew['chen'].id}": "4",
            f"capacity-{team.editor.id}": "3",
        },
    )
    assert response.status_code == 302
    page = text_of(client.get(url))
    # Annotator: 8 + 5 = 13 needed; Kemal 6 + Chen 4 (Chen also holds annotator) = 10: over by 3.
    # ML engineer: 5 needed against Chen's 4: over by 1. Overall: 20 planned, 13 capacity.
    assert "Over capacity: 20 points planned, 13 available" in page
    assert (
        "Annotator / labeler : the stories need 13 points, the members holding that role have 10 "
        "(Chen Li, Kemal Yilmaz): over by 3" in page
    )
    assert (
        "ML engineer : the stories need 5 points, the members holding that role have 4 "
        "(Chen Li): over by 1" in page
    )
    assert "Overall : 20 points planned against 13 points of capacity: over by 7" in page
    assert "1 story is unestimated" in page

    # Fix it: batch 2 back to the backlog, more capacity for Kemal and Chen.
    client.post_form(url, {"action": "remove", "story": ["2"]})
    client.post_form(
        url,
        {
            "action": "capacity",
            f"capacity-{crew['kemal'].id}": "9",
            f"capacity-{crew['chen'].id}": "5",
            f"capacity-{team.editor.id}": "3",
        },
    )
    page = text_of(client.get(url))
    assert "The plan fits the team's capacity" in page
    assert "over by" not in page
    assert db_session.scalar(select(func.count(SprintCapacity.account_id))) == 3


def test_planning_suggests_capacity_from_the_last_three_closed_sprints(
    db_session, clients, team, crew
):
    project, by = team.project, team.manager
    ctx = load_context(db_session, project)
    done_by = {}
    for n, (start, end, points, who) in enumerate(
        [
            ("2026-01-05", "2026-01-16", 8, crew["kemal"]),
            ("2026-01-19", "2026-01-30", 5, crew["kemal"]),
            ("2026-02-02", "2026-02-13", 3, crew["kemal"]),
            ("2026-02-16", "2026-02-27", 2, crew["kemal"]),
        ],
        start=1,
    ):
        sprint = create_sprint(db_session, project, {"name": f"S{n}", "start": start, "end": end})
        ctx.sprints[sprint.id] = sprint
        story = factories.story(
            db_session, project, by, title=f"Work {n}", points=points, now=t(f"{start}T07:00")
        )
        move_to_sprint(db_session, ctx, [story], sprint.id, by=by, now=t(f"{start}T08:00"))
        start_sprint(db_session, project, sprint, now=t(f"{start}T09:00"))
        update_story(
            db_session,
            ctx,
            story,
            {"status": "done", "assignee": who.id},
            by=who,
            now=t(f"{start}T15:00"),
        )
        sprint.state, sprint.closed_at = "closed", t(f"{end}T16:00")
        done_by[n] = points
    upcoming = create_sprint(
        db_session, project, {"name": "S5", "start": "2026-03-02", "end": "2026-03-13"}
    )
    db_session.commit()
    page = (
        clients["manage"].get(f"/projects/FRAUD/sprints/{upcoming.id}/plan").get_data(as_text=True)
    )
    # Kemal completed 8, 5, 3, 2: the last three average (5 + 3 + 2) / 3 = 3.3, suggested 3.
    assert re.search(
        r"Kemal Yilmaz</label>.*?<td class=\"num small\">3\.3</td>.*?value=\"3\"", page, re.S
    )
    assert "Suggested from each member" in page
    # Velocity: completed 8, 5, 3, 2 -> the last three average 3.3.
    assert "3.3" in text_of(clients["manage"].get("/projects/FRAUD/sprints"))


def test_backlog_filters_group_and_sections(db_session, clients, team):
    sprint = create_sprint(
        db_session, team.project, {"name": "Sprint 1", "start": "2026-03-02", "end": "2026-03-13"}
    )
    from planner.domain.epics import create_epic

    ctx = load_context(db_session, team.project)
    epic = create_epic(db_session, ctx, {"title": "Gold-label set"})
    factories.story(
        db_session,
        team.project,
        team.editor,
        title="Label batch 1",
        role="annotator",
        stage="data_labeling",
        epic=epic.key,
        sprint=sprint.id,
    )
    factories.story(
        db_session,
        team.project,
        team.editor,
        title="Label batch 2",
        role="annotator",
        stage="data_labeling",
        epic=epic.key,
    )
    factories.story(
        db_session,
        team.project,
        team.editor,
        title="Train baseline",
        type="experiment",
        role="data_scientist",
        stage="modeling",
        assignee=team.editor.id,
        points=5,
    )
    db_session.commit()
    client = clients["edit"]
    page = client.get("/projects/FRAUD/backlog").get_data(as_text=True)
    headings = re.findall(r'<h2 id="sec-[^"]+">\s*(?:<a [^>]+>)?([^<]+)', page)
    assert [h.strip() for h in headings] == ["Sprint 1 (planned)", "Backlog"]
    assert page.count('class="backlog-row"') == 3

    def shown(query: str) -> list[str]:
        html = client.get(f"/projects/FRAUD/backlog?{query}").get_data(as_text=True)
        return re.findall(r'<a href="/projects/FRAUD/stories/\d+">([^<]+)</a>', html)

    assert shown("role=annotator") == ["Label batch 1", "Label batch 2"]
    assert shown("stage=modeling") == ["Train baseline"]
    assert shown("type=experiment") == ["Train baseline"]
    assert shown("assignee=me") == ["Train baseline"]
    assert shown("q=batch 2") == ["Label batch 2"]
    assert shown("q=fraud-3") == ["Train baseline"]
    assert shown("epic=E1&role=annotator") == ["Label batch 1", "Label batch 2"]
    assert shown("epic=none") == ["Train baseline"]
    assert shown("role=wizard") == ["Label batch 1", "Label batch 2", "Train baseline"]  # ignored
    grouped = client.get("/projects/FRAUD/backlog?group=epic").get_data(as_text=True)
    assert "E1 · Gold-label set" in grouped and "No epic" in grouped


def test_backlog_counts_unestimated_stories_per_section(db_session, clients, team):
    factories.story(db_session, team.project, team.editor, title="a", points=None)
    factories.story(db_session, team.project, team.editor, title="b", points=3)
    factories.story(db_session, team.project, team.editor, title="c", points=None)
    db_session.commit()
    page = text_of(clients["view"].get("/projects/FRAUD/backlog"))
    assert "3 stories · 3 pts · 2 unestimated" in page


def test_rank_buttons_and_bulk_move_work_without_javascript(db_session, clients, team):
    sprint = create_sprint(
        db_session, team.project, {"name": "Sprint 1", "start": "2026-03-02", "end": "2026-03-13"}
    )
    for title in ("A", "B", "C", "D"):
        factories.story(db_session, team.project, team.editor, title=title)
    db_session.commit()
    client = clients["manage"]
    assert client.post_form("/projects/FRAUD/backlog/rank", {"rank": "3:top"}).status_code == 302
    assert client.post_form("/projects/FRAUD/backlog/rank", {"rank": "4:up"}).status_code == 302
    db_session.expire_all()
    first = db_session.scalar(select(Story).where(Story.number == 1))
    assert [s.title for s in section_of(db_session, first)] == ["C", "A", "D", "B"]
    response = client.post_form(
        "/projects/FRAUD/backlog/move",
        {"story": ["1", "4"], "target": str(sprint.id)},
        follow_redirects=True,
    )
    assert "Moved 2 stories to Sprint 1." in response.get_data(as_text=True)
    db_session.expire_all()
    assert sorted(
        s.title for s in db_session.scalars(select(Story).where(Story.sprint_id == sprint.id))
    ) == ["A", "D"]
    assert (
        db_session.scalar(select(func.count(StoryEvent.id)).where(StoryEvent.field == "sprint"))
        == 2
    )
    nothing = client.post_form(
        "/projects/FRAUD/backlog/move", {"target": str(sprint.id)}, follow_redirects=True
    )
    assert "Select the stories to move first." in nothing.get_data(as_text=True)
    stranger = client.post_form(
        "/projects/FRAUD/backlog/move",
        {"story": ["99"], "target": "backlog"},
        follow_redirects=True,
    )
    assert "FRAUD has no story FRAUD-99." in stranger.get_data(as_text=True)


def test_drag_and_drop_endpoint_reorders_and_moves_between_lists(db_session, clients, team):
    sprint = create_sprint(
        db_session, team.project, {"name": "Sprint 1", "start": "2026-03-02", "end": "2026-03-13"}
    )
    for title in ("A", "B", "C"):
        factories.story(db_session, team.project, team.editor, title=title)
    db_session.commit()
    client = clients["manage"]
    reordered = client.api(
        "POST",
        "/api/v1/projects/FRAUD/backlog/reorder",
        {"story": 3, "target": "backlog", "before": 1},
    )
    assert reordered.status_code == 200
    assert reordered.json["order"] == ["FRAUD-3", "FRAUD-1", "FRAUD-2"]
    moved = client.api(
        "POST",
        "/api/v1/projects/FRAUD/backlog/reorder",
        {"story": 1, "target": sprint.id, "before": None},
    )
    assert moved.json == {"story": "FRAUD-1", "sprint": sprint.id, "order": ["FRAUD-1"]}
    bad = client.api(
        "POST",
        "/api/v1/projects/FRAUD/backlog/reorder",
        {"story": 2, "target": "backlog", "before": 1},
    )
    assert bad.status_code == 422 and "another list" in bad.json["error"]["details"]["before"]
    assert (
        clients["edit"]
        .api("POST", "/api/v1/projects/FRAUD/backlog/reorder", {"story": 2, "target": "backlog"})
        .status_code
        == 403
    )


def test_creating_a_sprint_with_bad_dates_says_so_next_to_the_field(db_session, clients, team):
    create_sprint(
        db_session, team.project, {"name": "Sprint 1", "start": "2026-03-02", "end": "2026-03-13"}
    )
    db_session.commit()
    form = clients["manage"].get("/projects/FRAUD/sprints").get_data(as_text=True)
    # The new-sprint form suggests the next working day after Sprint 1 and a 14-day sprint.
    assert (
        'value="Sprint 2"' in form and 'value="2026-03-16"' in form and 'value="2026-03-27"' in form
    )
    response = clients["manage"].post_form(
        "/projects/FRAUD/sprints", {"name": "Sprint 2", "start": "2026-03-10", "end": "2026-03-05"}
    )
    assert response.status_code == 422
    assert "The sprint ends (2026-03-05) before it starts (2026-03-10)." in response.get_data(
        as_text=True
    )
    response = clients["manage"].post_form(
        "/projects/FRAUD/sprints", {"name": "Sprint 2", "start": "2026-03-10", "end": "2026-03-20"}
    )
    assert response.status_code == 422
    assert "overlaps Sprint 1 (2026-03-02 to 2026-03-13)" in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count(Sprint.id))) == 1


def test_starting_a_second_sprint_is_refused_with_a_message(db_session, clients, team):
    s1 = create_sprint(
        db_session, team.project, {"name": "Sprint 1", "start": "2026-03-02", "end": "2026-03-13"}
    )
    s2 = create_sprint(
        db_session, team.project, {"name": "Sprint 2", "start": "2026-03-16", "end": "2026-03-27"}
    )
    db_session.commit()
    client = clients["manage"]
    assert client.post_form(f"/projects/FRAUD/sprints/{s1.id}/start").status_code == 302
    refused = client.post_form(f"/projects/FRAUD/sprints/{s2.id}/start")
    assert refused.status_code == 409
    assert "Sprint 1 is still active. A project runs one sprint at a time" in text_of(refused)
    db_session.expire_all()
    assert [s.state for s in db_session.scalars(select(Sprint).order_by(Sprint.id))] == [
        "active",
        "planned",
    ]


def test_close_with_carry_over_through_the_pages_and_the_sprint_api(db_session, clients, team):
    project, by = team.project, team.manager
    sprint = create_sprint(
        db_session, project, {"name": "Sprint 1", "start": "2026-03-02", "end": "2026-03-13"}
    )
    ctx = load_context(db_session, project)
    stories = [
        factories.story(db_session, project, by, title=f"S{n}", points=p, now=t("2026-02-25T10:00"))
        for n, p in enumerate([5, 3, 8, 2], start=1)
    ]
    move_to_sprint(db_session, ctx, stories[:3], sprint.id, by=by, now=t("2026-03-02T08:00"))
    start_sprint(db_session, project, sprint, now=t("2026-03-02T09:00"))
    update_story(db_session, ctx, stories[0], {"status": "done"}, by=by, now=t("2026-03-03T10:00"))
    update_story(
        db_session, ctx, stories[3], {"sprint": sprint.id}, by=by, now=t("2026-03-04T10:00")
    )
    update_story(db_session, ctx, stories[1], {"sprint": None}, by=by, now=t("2026-03-05T10:00"))
    db_session.commit()
    client = clients["manage"]
    page = client.get(f"/projects/FRAUD/sprints/{sprint.id}/close").get_data(as_text=True)
    assert "2 unfinished stories" in page  # S3 (8) and S4 (2)
    assert "which will be created" in page
    response = client.post_form(
        f"/projects/FRAUD/sprints/{sprint.id}/close",
        {f"decision-{stories[2].id}": "next", f"decision-{stories[3].id}": "backlog"},
        follow_redirects=True,
    )
    body = text_of(response)
    assert "Sprint 1 closed. 1 carried over to Sprint 2. 1 back at the top of the backlog." in body
    # committed 5 + 3 + 8 = 16; added S4 (+2); removed S2 (-3); completed 5; carried 8 + 2 = 10.
    assert re.search(r"Committed 16 pts 3 stories at the start", body)
    assert re.search(r"Added after start \+2 pts 1 story", body)
    assert re.search(r"Removed \u22123 pts 1 story", body)
    assert re.search(r"Completed 5 pts 1 story", body)
    assert re.search(r"Carried over 10 pts 2 stories", body)
    api = client.get(f"/api/v1/sprints/{sprint.id}").json
    assert {
        k: api[k]
        for k in (
            "name",
            "state",
            "committed",
            "scope",
            "completed",
            "remaining",
            "added",
            "removed",
        )
    } == {
        "name": "Sprint 1",
        "state": "closed",
        "committed": 16,
        "scope": 15,
        "completed": 5,
        "remaining": 10,
        "added": ["FRAUD-4"],
        "removed": ["FRAUD-2"],
    }
    assert api["closed_at"].endswith("Z") and api["start"] == "2026-03-02"
    velocity = client.get("/api/v1/projects/FRAUD/velocity").json
    assert [(s["name"], s["committed"], s["completed"]) for s in velocity["sprints"]] == [
        ("Sprint 1", 16, 5)
    ]
    assert velocity["average"] == 5 and velocity["average_of"] == ["Sprint 1"]


def test_sprint_api_for_a_planned_sprint_and_for_strangers(db_session, clients, team):
    # The story is created on 2 March; the sprint's commitment is read at the start of 3 March.
    sprint = create_sprint(
        db_session, team.project, {"name": "Sprint 1", "start": "2026-03-03", "end": "2026-03-13"}
    )
    factories.story(db_session, team.project, team.editor, points=5, sprint=sprint.id)
    db_session.commit()
    body = clients["view"].get(f"/api/v1/sprints/{sprint.id}").json
    assert (body["state"], body["committed"], body["scope"], body["remaining"]) == (
        "planned",
        5,
        5,
        5,
    )
    assert body["started_at"] is None and body["added"] == []
    assert clients["none"].get(f"/api/v1/sprints/{sprint.id}").status_code == 404
    assert clients["view"].get("/api/v1/sprints/999").status_code == 404


def test_epics_show_progress_and_can_be_archived(db_session, clients, team):
    client = clients["edit"]
    assert (
        client.post_form(
            "/projects/FRAUD/epics", {"title": "Gold-label set", "stage": "data_labeling"}
        ).status_code
        == 302
    )
    for status, points in [("done", 5), ("done", 3), ("todo", 8), ("todo", None)]:
        factories.story(
            db_session, team.project, team.editor, epic="E1", status=status, points=points
        )
    db_session.commit()
    page = text_of(client.get("/projects/FRAUD/epics"))
    # 5 + 3 done of 5 + 3 + 8 = 16 points; 2 of 4 stories; one unestimated.
    assert "8 of 16 points · 2 of 4 stories done · 1 unestimated" in page
    assert 'aria-label="50% done"' in client.get("/projects/FRAUD/epics").get_data(as_text=True)
    bad = client.post_form("/projects/FRAUD/epics", {"title": "", "stage": "nowhere"})
    assert bad.status_code == 422 and "Enter a title." in bad.get_data(as_text=True)
    assert (
        client.post_form(
            "/projects/FRAUD/epics/E1", {"title": "Gold-label set", "action": "archive"}
        ).status_code
        == 302
    )
    assert "Gold-label set" not in text_of(client.get("/projects/FRAUD/epics"))
    assert "Gold-label set" in text_of(client.get("/projects/FRAUD/epics?archived=1"))


@pytest.mark.parametrize("stories", [4, 60])
def test_backlog_and_planning_pages_run_a_bounded_number_of_queries(
    db_session, clients, team, count_queries, stories
):
    sprint = create_sprint(
        db_session, team.project, {"name": "Sprint 1", "start": "2026-03-02", "end": "2026-03-13"}
    )
    for i in range(stories):
        factories.story(
            db_session,
            team.project,
            team.editor,
            title=f"Story {i}",
            points=[1, 2, 3][i % 3],
            role=["annotator", "ml_engineer", None][i % 3],
            assignee=team.editor.id,
            sprint=sprint.id if i % 2 else None,
        )
    db_session.commit()
    client = clients["manage"]
    for url, bound in (  # each page: its own queries, and one for the bell's unread count
        ("/projects/FRAUD/backlog", 11 + 2),  # +2: labels (the filter's choices, the chips)
        (f"/projects/FRAUD/sprints/{sprint.id}/plan", 15),
        ("/projects/FRAUD/sprints", 13),
        (f"/projects/FRAUD/sprints/{sprint.id}", 17),
        ("/projects/FRAUD/reports", 17),
    ):
        client.get(url)
        with count_queries() as counter:
            response = client.get(url)
        assert response.status_code == 200
        assert counter.count <= bound, (url, counter.count)
