"""Sprint planning rules with hand-computed numbers: defaults, validation, start, close with
carry-over and its summary, capacity by member and role, velocity, backlog order."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from planner.domain import DomainError, ValidationError
from planner.domain.backlog import move_to_sprint, place, section_of
from planner.domain.context import load_context
from planner.domain.history import calendar_of, load_series
from planner.domain.sprints import (
    capacities,
    close_sprint,
    create_sprint,
    end_for,
    set_capacity,
    start_sprint,
    suggest_sprint,
    update_sprint,
)
from planner.domain.stories import update_story
from planner.metrics import Calendar, default_capacity, summarize, velocity
from planner.models import Sprint, Story, StoryEvent
from planner.planning import check_plan
from tests import factories


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_sprint_defaults_follow_the_previous_sprint_and_the_sprint_length(db_session, team):
    calendar = Calendar("UTC", holidays=frozenset({date(2026, 3, 16)}))
    first = suggest_sprint(team.project, [], calendar, date(2026, 2, 28))  # a Saturday
    assert (first.name, first.start, first.end) == ("Sprint 1", date(2026, 3, 2), date(2026, 3, 13))
    sprint = create_sprint(
        db_session, team.project, {"name": "Sprint 1", "start": first.start, "end": first.end}
    )
    # The next working day after Friday 13 March is Tuesday 17 (Monday 16 is a holiday);
    # 14 days from Tuesday 17 is Monday 30, which is a working day.
    second = suggest_sprint(team.project, [sprint], calendar, date(2026, 3, 1))
    assert (second.name, second.start, second.end) == (
        "Sprint 2",
        date(2026, 3, 17),
        date(2026, 3, 30),
    )
    assert end_for(calendar, date(2026, 3, 2), 10) == date(2026, 3, 11)


@pytest.mark.parametrize(
    ("values", "field", "fragment"),
    [
        (
            {"name": "Sprint 2", "start": "2026-03-13", "end": "2026-03-02"},
            "end",
            "ends (2026-03-02) before it starts",
        ),
        (
            {"name": "Sprint 2", "start": "2026-03-10", "end": "2026-03-20"},
            "start",
            "overlaps Sprint 1",
        ),
        (
            {"name": "Sprint 1", "start": "2026-04-01", "end": "2026-04-10"},
            "name",
            "already has a sprint called Sprint 1",
        ),
        ({"name": "", "start": "2026-04-01", "end": "2026-04-10"}, "name", "Enter a name"),
        ({"name": "Sprint 2", "start": "next week", "end": "2026-04-10"}, "start", "YYYY-MM-DD"),
    ],
)
def test_bad_sprint_values_are_refused_per_field(db_session, team, values, field, fragment):
    create_sprint(
        db_session, team.project, {"name": "Sprint 1", "start": "2026-03-02", "end": "2026-03-13"}
    )
    with pytest.raises(ValidationError) as refused:
        create_sprint(db_session, team.project, values)
    assert fragment in refused.value.errors[field]
    assert db_session.scalar(select(func.count(Sprint.id))) == 1


def test_dates_change_only_while_planned(db_session, team):
    sprint = create_sprint(
        db_session, team.project, {"name": "S1", "start": "2026-03-02", "end": "2026-03-13"}
    )
    update_sprint(db_session, team.project, sprint, {"end": "2026-03-12", "goal": "Gold set"})
    assert (sprint.end_date, sprint.goal) == (date(2026, 3, 12), "Gold set")
    start_sprint(db_session, team.project, sprint, now=t("2026-03-02T09:00"))
    update_sprint(db_session, team.project, sprint, {"name": "Sprint One"})
    with pytest.raises(ValidationError) as refused:
        update_sprint(db_session, team.project, sprint, {"end": "2026-03-20"})
    assert "only while planned" in refused.value.errors["start"]


def test_only_one_sprint_is_active(db_session, team):
    s1 = create_sprint(
        db_session, team.project, {"name": "S1", "start": "2026-03-02", "end": "2026-03-13"}
    )
    s2 = create_sprint(
        db_session, team.project, {"name": "S2", "start": "2026-03-16", "end": "2026-03-27"}
    )
    start_sprint(db_session, team.project, s1, now=t("2026-03-02T09:00"))
    with pytest.raises(DomainError, match="S1 is still active"):
        start_sprint(db_session, team.project, s2, now=t("2026-03-02T09:05"))
    with pytest.raises(DomainError, match="only a planned sprint can start"):
        start_sprint(db_session, team.project, s1, now=t("2026-03-02T09:05"))
    assert (s1.state, s1.started_at, s2.state) == ("active", t("2026-03-02T09:00"), "planned")


@pytest.fixture
def closed_sprint(db_session, team):
    """Sprint 1 from 2 to 13 March 2026 (UTC, Monday to Friday) with a worked-out history."""
    project = team.project
    sprint = create_sprint(
        db_session, project, {"name": "Sprint 1", "start": "2026-03-02", "end": "2026-03-13"}
    )
    created = t("2026-02-25T10:00")
    s = {
        n: factories.story(
            db_session, project, team.manager, now=created, title=f"Story {n}", points=p, role=r
        )
        for n, p, r in [
            (1, 5, "data_scientist"),
            (2, 3, "annotator"),
            (3, 8, "ml_engineer"),
            (4, 2, None),
            (5, 1, None),
        ]
    }
    ctx = load_context(db_session, project)
    by = team.manager
    move_to_sprint(
        db_session, ctx, [s[1], s[2], s[3], s[5]], sprint.id, by=by, now=t("2026-03-02T08:00")
    )
    start_sprint(db_session, project, sprint, now=t("2026-03-02T09:00"))
    update_story(
        db_session,
        ctx,
        s[1],
        {"status": "done", "assignee": team.editor.id},
        by=by,
        now=t("2026-03-03T10:00"),
    )
    update_story(db_session, ctx, s[4], {"sprint": sprint.id}, by=by, now=t("2026-03-04T11:00"))
    update_story(db_session, ctx, s[5], {"sprint": None}, by=by, now=t("2026-03-05T12:00"))
    update_story(db_session, ctx, s[3], {"points": 13}, by=by, now=t("2026-03-06T10:00"))
    update_story(db_session, ctx, s[2], {"status": "done"}, by=by, now=t("2026-03-10T15:00"))
    before = load_series(db_session, project, [sprint], now=t("2026-03-13T15:00"))[sprint.id]
    result = close_sprint(
        db_session,
        ctx,
        sprint,
        {s[3].id: "next", s[4].id: "backlog"},
        calendar=calendar_of(db_session, project),
        by=by,
        now=t("2026-03-13T16:00"),
    )
    db_session.commit()
    return sprint, s, result, before


def test_closing_sends_unfinished_stories_where_the_scrum_master_says(
    db_session, team, closed_sprint
):
    sprint, s, result, _ = closed_sprint
    assert (sprint.state, sprint.closed_at) == ("closed", t("2026-03-13T16:00"))
    # No planned sprint existed, so the next one was created: Monday 16 to Friday 27 March.
    nxt = result.next_sprint
    assert (nxt.name, nxt.start_date, nxt.end_date, nxt.state) == (
        "Sprint 2",
        date(2026, 3, 16),
        date(2026, 3, 27),
        "planned",
    )
    assert s[3].sprint_id == nxt.id
    assert s[4].sprint_id is None
    top = section_of(db_session, s[4])[0]
    assert top.id == s[4].id  # back at the top of the backlog
    moves = db_session.scalars(
        select(StoryEvent).where(
            StoryEvent.field == "sprint", StoryEvent.at == t("2026-03-13T16:00")
        )
    ).all()
    assert sorted((e.story_id, e.from_value, e.to_value) for e in moves) == sorted(
        [(s[3].id, str(sprint.id), str(nxt.id)), (s[4].id, str(sprint.id), None)]
    )


def test_the_closed_sprint_summary_and_its_frozen_chart(db_session, team, closed_sprint):
    sprint, s, result, before = closed_sprint
    series = load_series(db_session, team.project, [sprint], now=t("2026-04-01T00:00"))[sprint.id]
    summary = summarize(series)
    # committed: 5 + 3 + 8 + 1 = 17 points, 4 stories; story 4 (+2) added on the 4th; story 5 (-1)
    # removed on the 5th; story 3 re-estimated 8 -> 13 (+5); done: 5 + 3; unfinished: 13 + 2.
    assert (summary.committed_points, summary.committed_stories) == (17, 4)
    assert (summary.added_points, summary.added_stories) == (2, 1)
    assert (summary.removed_points, summary.removed_stories) == (1, 1)
    assert summary.reestimated_points == 5
    assert (summary.completed_points, summary.completed_stories) == (8, 2)
    assert (summary.carried_points, summary.carried_stories) == (15, 2)
    assert (summary.scope_points, summary.scope_stories) == (23, 4)  # 17 + 2 - 1 + 5
    assert series.series()["remaining"] == [17, 12, 14, 13, 18, 18, 15, 15, 15, 15]
    assert series.series() == before.series()  # carrying over at the close changed nothing
    assert velocity([series]).average == 8
    assert [(c.story, c.change, c.points) for c in series.scope_changes] == [
        ("FRAUD-4", "added", 2),
        ("FRAUD-5", "removed", -1),
        ("FRAUD-3", "re-estimated", 5),
    ]


def test_closing_twice_or_a_planned_sprint_is_refused(db_session, team, closed_sprint):
    sprint, s, result, _ = closed_sprint
    ctx = load_context(db_session, team.project)
    with pytest.raises(DomainError, match="only the active sprint can close"):
        close_sprint(
            db_session,
            ctx,
            sprint,
            {},
            calendar=calendar_of(db_session, team.project),
            by=team.manager,
            now=t("2026-03-14T10:00"),
        )


def test_capacity_per_member_is_validated_and_replaced(db_session, team):
    sprint = create_sprint(
        db_session, team.project, {"name": "S1", "start": "2026-03-02", "end": "2026-03-13"}
    )
    ctx = load_context(db_session, team.project)
    set_capacity(db_session, ctx, sprint, {team.editor.id: "6", team.manager.id: 4})
    assert capacities(db_session, sprint) == {team.editor.id: 6, team.manager.id: 4}
    with pytest.raises(ValidationError) as refused:
        set_capacity(db_session, ctx, sprint, {team.viewer.id: 3, team.editor.id: "-2"})
    assert set(refused.value.errors) == {f"capacity-{team.viewer.id}", f"capacity-{team.editor.id}"}
    assert capacities(db_session, sprint) == {team.editor.id: 6, team.manager.id: 4}
    set_capacity(db_session, ctx, sprint, {team.editor.id: "8", team.manager.id: ""})
    assert capacities(db_session, sprint) == {team.editor.id: 8}


def test_role_totals_flag_each_over_committed_role():
    stories = [
        ("annotator", 8),
        ("annotator", 5),
        ("ml_engineer", 8),
        ("data_scientist", 3),
        (None, 2),
        ("annotator", None),
    ]
    capacity = {1: 6, 2: 10, 3: 5}
    roles_of = {1: ["annotator"], 2: ["ml_engineer", "data_scientist"], 3: ["annotator"]}
    names = {1: "Kemal", 2: "Chen", 3: "Lea"}
    check = check_plan(stories, capacity, roles_of, names, velocity=24.0)
    by_role = {line.role: (line.needed, line.capacity, line.over_by) for line in check.lines}
    assert by_role == {
        "data_scientist": (3, 10, 0),
        "ml_engineer": (8, 10, 0),
        "annotator": (13, 11, 2),  # 8 + 5 (+ one unestimated) against Kemal 6 + Lea 5
        None: (2, None, 0),
    }
    assert [line.role for line in check.over_roles] == ["annotator"]
    assert (check.needed, check.capacity, check.unestimated, check.stories) == (26, 21, 1, 6)
    assert check.over_capacity_by == 5 and check.above_velocity_by == 2.0
    assert not check.fits


@pytest.mark.parametrize(
    ("stories", "capacity", "velocity", "verdict"),
    [
        # The Sprint 5: 13 points against 35 of capacity and a velocity of 30.7, one role
        # over by 1 (annotator 8 + 5 against Kemal's 12): the total fits, the role is named.
        ([("annotator", 8), ("annotator", 5)], {1: 12, 2: 23}, 30.7, "roles"),
        # The Sprint 4: 37 points within 40 of capacity but above a velocity of 30.7.
        ([("ml_engineer", 20), ("ml_engineer", 17)], {1: 10, 2: 30}, 30.7, "pace"),
        # 51 points against 35 of capacity: over capacity, whatever the roles and the pace.
        ([("ml_engineer", 30), ("annotator", 21)], {1: 12, 2: 23}, 60.0, "over"),
        # 20 points, within capacity (35) and velocity (30.7), no role over: it fits.
        ([("ml_engineer", 12), ("annotator", 8)], {1: 12, 2: 23}, 30.7, "fits"),
        # Exactly at velocity is not above it; no velocity yet (no closed sprint) cannot be.
        ([("ml_engineer", 20)], {1: 12, 2: 23}, 20.0, "fits"),
        ([("ml_engineer", 20)], {1: 12, 2: 23}, None, "fits"),
    ],
    ids=["one-role-over", "above-velocity", "over-capacity", "fits", "at-velocity", "no-velocity"],
)
def test_the_plan_verdict_weighs_the_total_first(stories, capacity, velocity, verdict):
    roles_of = {1: ["annotator"], 2: ["ml_engineer"]}
    check = check_plan(stories, capacity, roles_of, {1: "Kemal", 2: "Chen"}, velocity=velocity)
    assert check.verdict == verdict


def test_default_capacity_from_the_last_three_closed_sprints(db_session, team, closed_sprint):
    sprint, *_ = closed_sprint
    series = load_series(db_session, team.project, [sprint], now=t("2026-04-01T00:00"))
    # In Sprint 1, Priya (editor) completed story 1 (5 points); the rest was unassigned.
    assert default_capacity(list(series.values()), {}) == {team.editor.id: 5}


def test_backlog_order_top_up_down_and_before(db_session, team):
    stories = [
        factories.story(db_session, team.project, team.editor, title=f"S{i}") for i in range(1, 6)
    ]
    order = lambda: [s.title for s in section_of(db_session, stories[0])]  # noqa: E731
    assert order() == ["S1", "S2", "S3", "S4", "S5"]
    place(db_session, stories[3], action="top")
    assert order() == ["S4", "S1", "S2", "S3", "S5"]
    place(db_session, stories[4], action="up")
    assert order() == ["S4", "S1", "S2", "S5", "S3"]
    place(db_session, stories[3], action="down")
    assert order() == ["S1", "S4", "S2", "S5", "S3"]
    place(db_session, stories[2], before=stories[0])
    assert order() == ["S3", "S1", "S4", "S2", "S5"]
    # Squeeze until the gaps run out: the section is renumbered and the order still holds.
    for _ in range(12):
        place(db_session, stories[4], before=stories[1])
        place(db_session, stories[3], before=stories[4])
    assert order() == ["S3", "S1", "S4", "S5", "S2"]
    assert len({s.rank for s in stories}) == 5


def test_moving_stories_of_another_project_or_into_a_closed_sprint_is_refused(
    db_session, team, closed_sprint
):
    sprint, s, *_ = closed_sprint
    other = factories.project(db_session, "CV", "Vision", owner=team.manager)
    foreign = factories.story(db_session, other, team.manager)
    ctx = load_context(db_session, team.project)
    with pytest.raises(DomainError, match="another project"):
        move_to_sprint(db_session, ctx, [foreign], None, by=team.manager, now=t("2026-03-20T10:00"))
    with pytest.raises(ValidationError, match="closed"):
        move_to_sprint(
            db_session, ctx, [s[4]], sprint.id, by=team.manager, now=t("2026-03-20T10:00")
        )
    assert db_session.get(Story, s[4].id).sprint_id is None
