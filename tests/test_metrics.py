"""Sprint numbers from history, with every expectation worked out by hand (docs/rules.md rules)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from planner.metrics import (
    Calendar,
    Change,
    SprintInfo,
    StoryInfo,
    completed_by_member,
    default_capacity,
    sprint_days,
    sweep,
    velocity,
)

UTC_WEEK = Calendar("UTC")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def story(id_, points, status="todo", sprint=None, created="2026-02-20T10:00", **kw):
    return StoryInfo(
        id=id_,
        key=f"T-{id_}",
        created_at=at(created),
        status=status,
        points=points,
        sprint=sprint,
        **kw,
    )


def moved(id_, when, field, old, new):
    return Change(id_, at(when), field, old, new)


SPRINT = SprintInfo(
    1, "Sprint 1", date(2026, 3, 2), date(2026, 3, 13), "active", started_at=at("2026-03-02T09:00")
)


def basic_history():
    """A 5, B 3, C 8, E unestimated planned before the start; D 2 added on Wednesday."""
    stories = [
        story(1, 5, "done", 1),
        story(2, 3, "done", 1),
        story(3, 8, "todo", 1),
        story(4, 2, "done", 1),
        story(5, None, "todo", 1),
    ]
    changes = [
        moved(1, "2026-03-02T08:00", "sprint", None, 1),
        moved(2, "2026-03-02T08:00", "sprint", None, 1),
        moved(3, "2026-03-02T08:00", "sprint", None, 1),
        moved(5, "2026-03-02T08:00", "sprint", None, 1),
        moved(1, "2026-03-03T15:00", "status", "todo", "done"),
        moved(2, "2026-03-03T11:00", "status", "todo", "in_progress"),
        moved(2, "2026-03-05T10:00", "status", "in_progress", "done"),
        moved(4, "2026-03-04T11:00", "sprint", None, 1),
        moved(4, "2026-03-06T10:00", "status", "todo", "done"),
    ]
    return stories, changes


def test_burndown_of_a_sprint_in_progress():
    stories, changes = basic_history()
    series = sweep(UTC_WEEK, [SPRINT], stories, changes, now=at("2026-03-06T12:00"))[1]
    s = series.series("points")
    assert s["days"] == [
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
        "2026-03-05",
        "2026-03-06",
        "2026-03-09",
        "2026-03-10",
        "2026-03-11",
        "2026-03-12",
        "2026-03-13",
    ]
    assert s["committed"] == 16  # 5 + 3 + 8 + 0 (unestimated)
    assert s["scope"] == [16, 16, 18, 18, 18, None, None, None, None, None]
    assert s["done"] == [0, 5, 5, 8, 10, None, None, None, None, None]
    assert s["remaining"] == [16, 11, 13, 10, 8, None, None, None, None, None]
    # 16 points over 10 sprint days, 16 / 10 = 1.6 less each day: 14.4, 12.8, ... 1.6, 0.
    assert s["ideal"] == pytest.approx([14.4, 12.8, 11.2, 9.6, 8.0, 6.4, 4.8, 3.2, 1.6, 0.0])
    assert [(c.day, c.story, c.change, c.points) for c in series.scope_changes] == [
        (date(2026, 3, 4), "T-4", "added", 2)
    ]


def test_the_stories_unit_counts_unestimated_stories_as_one():
    stories, changes = basic_history()
    s = sweep(UTC_WEEK, [SPRINT], stories, changes, now=at("2026-03-06T12:00"))[1].series("stories")
    assert s["committed"] == 4
    assert s["scope"][:5] == [4, 4, 5, 5, 5]
    assert s["done"][:5] == [0, 1, 1, 2, 3]
    assert s["remaining"][:5] == [4, 3, 4, 3, 2]


def test_cumulative_flow_counts_stories_per_status():
    stories, changes = basic_history()
    series = sweep(UTC_WEEK, [SPRINT], stories, changes, now=at("2026-03-06T12:00"))[1]
    # todo, in_progress, review, done
    assert [t.by_status for t in series.per_day[:5]] == [
        (4, 0, 0, 0),
        (2, 1, 0, 1),
        (3, 1, 0, 1),
        (3, 0, 0, 2),
        (2, 0, 0, 3),
    ]


def test_weekends_and_holidays_are_not_days_and_their_events_count_on_the_next_day():
    calendar = Calendar("UTC", holidays=frozenset({date(2026, 3, 10)}))
    stories = [story(1, 5, "done", 1), story(2, 3, "done", 1)]
    changes = [
        moved(1, "2026-03-01T10:00", "sprint", None, 1),
        moved(2, "2026-03-01T10:00", "sprint", None, 1),
        moved(1, "2026-03-07T14:00", "status", "todo", "done"),  # Saturday: counts on Monday
        moved(2, "2026-03-10T14:00", "status", "todo", "done"),  # the holiday: counts on the 11th
    ]
    series = sweep(calendar, [SPRINT], stories, changes, now=at("2026-03-20T00:00"))[1]
    s = series.series()
    assert s["days"] == [
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
        "2026-03-05",
        "2026-03-06",
        "2026-03-09",
        "2026-03-11",
        "2026-03-12",
        "2026-03-13",
    ]
    assert s["remaining"] == [8, 8, 8, 8, 8, 3, 0, 0, 0]
    # 8 points over 9 sprint days, 8/9 of a point less each day: 64/9 (7.11), 56/9, ... 8/9, 0.
    assert s["ideal"] == pytest.approx(
        [64 / 9, 56 / 9, 48 / 9, 40 / 9, 32 / 9, 24 / 9, 16 / 9, 8 / 9, 0.0]
    )
    assert s["ideal"][-1] == 0


def test_a_custom_working_week():
    calendar = Calendar("UTC", working_days=frozenset({1, 2, 3, 4, 6}))  # Friday off, Saturday on
    days = sprint_days(calendar, SPRINT)
    assert [d.isoformat() for d in days] == [
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
        "2026-03-05",
        "2026-03-07",
        "2026-03-09",
        "2026-03-10",
        "2026-03-11",
        "2026-03-12",
    ]


def test_closing_with_carry_over_leaves_the_chart_frozen():
    closed = SprintInfo(
        1,
        "Sprint 1",
        date(2026, 3, 2),
        date(2026, 3, 13),
        "closed",
        started_at=at("2026-03-02T09:00"),
        closed_at=at("2026-03-13T16:00"),
    )
    nxt = SprintInfo(2, "Sprint 2", date(2026, 3, 16), date(2026, 3, 27), "planned")
    stories, changes = basic_history()
    before = sweep(UTC_WEEK, [closed, nxt], stories, changes, now=at("2026-03-13T15:59"))
    # At close, C (todo) goes to Sprint 2 and E back to the backlog, at closed_at exactly.
    stories_after = [
        s
        if s.id not in (3, 5)
        else StoryInfo(s.id, s.key, s.created_at, s.status, s.points, 2 if s.id == 3 else None)
        for s in stories
    ]
    changes_after = [
        *changes,
        moved(3, "2026-03-13T16:00", "sprint", 1, 2),
        moved(5, "2026-03-13T16:00", "sprint", 1, None),
        moved(3, "2026-03-17T10:00", "status", "todo", "in_progress"),
    ]
    after = sweep(UTC_WEEK, [closed, nxt], stories_after, changes_after, now=at("2026-04-01T00:00"))
    assert after[1].series() == before[1].series()
    assert after[1].series()["remaining"] == [16, 11, 13, 10, 8, 8, 8, 8, 8, 8]
    assert after[1].scope_changes == before[1].scope_changes
    assert [s.key for s in after[1].final_stories if s.status != "done"] == ["T-3", "T-5"]
    # The next sprint sees C from the close on (planned: committed at the start of its first day).
    assert after[2].committed.remaining("points") == 8
    assert after[2].scope_changes == []


def test_a_timezone_far_from_utc_with_events_near_midnight():
    calendar = Calendar("Pacific/Auckland")  # UTC+13 in March (daylight time)
    sprint = SprintInfo(
        1, "S", date(2026, 3, 2), date(2026, 3, 6), "active", started_at=at("2026-03-01T20:00")
    )  # 09:00 on Monday 2 March in Auckland
    stories = [story(1, 5, "done", 1), story(2, 3, "done", 1)]
    changes = [
        moved(1, "2026-03-01T19:00", "sprint", None, 1),
        moved(2, "2026-03-01T19:00", "sprint", None, 1),
        moved(1, "2026-03-03T10:30", "status", "todo", "done"),  # 23:30 on Tue 3 March locally
        moved(2, "2026-03-03T11:30", "status", "todo", "done"),  # 00:30 on Wed 4 March locally
    ]
    s = sweep(calendar, [sprint], stories, changes, now=at("2026-03-10T00:00"))[1].series()
    assert s["days"] == ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06"]
    assert s["remaining"] == [8, 3, 0, 0, 0]


def test_removed_re_estimated_and_reopened_stories():
    stories = [story(1, 5, "done", 1), story(2, 8, "todo", None), story(3, 3, "in_progress", 1)]
    changes = [
        moved(1, "2026-03-02T08:00", "sprint", None, 1),
        moved(2, "2026-03-02T08:00", "sprint", None, 1),
        moved(3, "2026-03-02T08:00", "sprint", None, 1),
        moved(1, "2026-03-03T10:00", "points", 3, 5),
        moved(2, "2026-03-04T10:00", "sprint", 1, None),  # removed on Wednesday
        moved(3, "2026-03-04T12:00", "status", "todo", "done"),
        moved(3, "2026-03-05T09:00", "status", "done", "in_progress"),  # reopened on Thursday
        moved(1, "2026-03-05T15:00", "status", "todo", "done"),
    ]
    series = sweep(UTC_WEEK, [SPRINT], stories, changes, now=at("2026-03-06T18:00"))[1]
    s = series.series()
    # committed: 3 (story 1 before re-estimation) + 8 + 3 = 14
    assert s["committed"] == 14
    assert s["scope"][:5] == [14, 16, 8, 8, 8]
    assert s["done"][:5] == [0, 0, 3, 5, 5]
    assert s["remaining"][:5] == [14, 16, 5, 3, 3]
    assert [(c.day.isoformat(), c.story, c.change, c.points) for c in series.scope_changes] == [
        ("2026-03-03", "T-1", "re-estimated", 2),
        ("2026-03-04", "T-2", "removed", -8),
    ]
    assert [c.story for c in series.removed()] == ["T-2"]


def test_a_story_created_in_the_sprint_after_the_start_is_added():
    stories = [story(1, 5, "todo", 1), story(2, 3, "todo", 1, created="2026-03-03T09:00")]
    changes = [moved(1, "2026-03-02T08:00", "sprint", None, 1)]
    series = sweep(UTC_WEEK, [SPRINT], stories, changes, now=at("2026-03-04T12:00"))[1]
    assert series.committed.scope_points == 5
    assert series.series()["scope"][:3] == [5, 8, 8]
    assert [(c.story, c.change, c.points) for c in series.added()] == [("T-2", "added", 3)]


def test_events_before_a_story_exists_set_its_values_but_do_not_count():
    """A history imported from another tool can start before the story's created_at: the
    values it sets hold from the creation on, and nothing is counted or listed before it."""
    stories = [
        story(1, 5, "todo", 1),
        story(2, 8, "done", 1, created="2026-03-04T09:00"),  # Wednesday
    ]
    changes = [
        moved(1, "2026-03-02T08:00", "sprint", None, 1),
        moved(2, "2026-02-25T10:00", "sprint", None, 1),  # before it exists: not added then
        moved(2, "2026-03-03T10:00", "points", 3, 8),  # before it exists: not a re-estimate
        moved(2, "2026-03-05T10:00", "status", "todo", "done"),
    ]
    series = sweep(UTC_WEEK, [SPRINT], stories, changes, now=at("2026-03-05T18:00"))[1]
    s = series.series()
    assert s["committed"] == 5  # story 2 does not exist at the start
    assert s["scope"][:5] == [5, 5, 13, 13, None]  # from Wednesday, with its 8 points
    assert s["done"][:5] == [0, 0, 0, 8, None]
    assert s["remaining"][:5] == [5, 5, 13, 5, None]
    assert [(c.day, c.story, c.change, c.points) for c in series.scope_changes] == [
        (date(2026, 3, 4), "T-2", "added", 8)
    ]
    assert [(x.key, x.status, x.points) for x in series.final_stories] == [
        ("T-1", "todo", 5),
        ("T-2", "done", 8),
    ]


def test_an_empty_sprint_and_a_sprint_without_working_days():
    weekend = SprintInfo(2, "Weekend", date(2026, 3, 7), date(2026, 3, 8), "planned")
    result = sweep(UTC_WEEK, [SPRINT, weekend], [], [], now=at("2026-03-04T12:00"))
    assert result[1].series()["remaining"][:3] == [0, 0, 0]
    assert result[1].series()["remaining"][3:] == [None] * 7
    assert result[2].days == [] and result[2].series()["ideal"] == []
    assert result[2].final.scope_points == 0


def test_a_sprint_closed_after_its_end_runs_to_the_close_date():
    late = SprintInfo(
        1,
        "S",
        date(2026, 3, 2),
        date(2026, 3, 6),
        "closed",
        started_at=at("2026-03-02T09:00"),
        closed_at=at("2026-03-10T12:00"),
    )
    stories = [story(1, 5, "done", 1)]
    changes = [
        moved(1, "2026-03-02T08:00", "sprint", None, 1),
        moved(1, "2026-03-10T11:00", "status", "todo", "done"),
    ]
    series = sweep(UTC_WEEK, [late], stories, changes, now=at("2026-03-20T00:00"))[1]
    s = series.series()
    assert s["days"] == [
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
        "2026-03-05",
        "2026-03-06",
        "2026-03-09",
        "2026-03-10",
    ]
    assert s["remaining"] == [5, 5, 5, 5, 5, 5, 0]  # Tuesday's moment is the close at 12:00


def test_a_sprint_closed_early_freezes_at_its_close():
    early = SprintInfo(
        1,
        "S",
        date(2026, 3, 2),
        date(2026, 3, 6),
        "closed",
        started_at=at("2026-03-02T09:00"),
        closed_at=at("2026-03-04T12:00"),
    )
    stories = [story(1, 5, "done", 1), story(2, 3, "done", 1)]
    changes = [
        moved(1, "2026-03-02T08:00", "sprint", None, 1),
        moved(2, "2026-03-02T08:00", "sprint", None, 1),
        moved(1, "2026-03-04T11:00", "status", "todo", "done"),
        moved(2, "2026-03-04T13:00", "status", "todo", "done"),
    ]  # after the close
    s = sweep(UTC_WEEK, [early], stories, changes, now=at("2026-03-20T00:00"))[1].series()
    assert s["remaining"] == [8, 8, 3, 3, 3]


def closed_sprint(id_, start, end, committed_stories, done_stories):
    """A closed two-week sprint whose stories (id, points, assignee) were planned before its start
    and the `done_stories` finished on its first Tuesday."""
    sprint = SprintInfo(
        id_,
        f"S{id_}",
        start,
        end,
        "closed",
        started_at=datetime.combine(start, datetime.min.time(), UTC).replace(hour=9),
        closed_at=datetime.combine(end, datetime.min.time(), UTC).replace(hour=16),
    )
    stories, changes = [], []
    for sid, points, who in committed_stories:
        done = sid in done_stories
        stories.append(
            StoryInfo(
                sid,
                f"T-{sid}",
                at("2026-01-01T09:00"),
                "done" if done else "todo",
                points,
                id_,
                assignee=who,
            )
        )
        changes.append(Change(sid, sprint.started_at.replace(hour=8), "sprint", None, id_))
        if done:
            changes.append(
                Change(
                    sid,
                    sprint.started_at.replace(hour=10, day=start.day + 1),
                    "status",
                    "todo",
                    "done",
                )
            )
    return sprint, stories, changes


def test_velocity_is_completed_per_closed_sprint_and_the_average_of_the_last_three():
    parts = [
        closed_sprint(1, date(2026, 1, 5), date(2026, 1, 16), [(1, 8, 10), (2, 5, 11)], {1}),
        closed_sprint(2, date(2026, 1, 19), date(2026, 1, 30), [(3, 13, 10), (4, 3, 11)], {3, 4}),
        closed_sprint(3, date(2026, 2, 2), date(2026, 2, 13), [(5, 5, 10), (6, 8, 11)], {6}),
        closed_sprint(4, date(2026, 2, 16), date(2026, 2, 27), [(7, 21, 10), (8, 2, 11)], {7, 8}),
    ]
    sprints = [p[0] for p in parts]
    stories = [s for p in parts for s in p[1]]
    changes = [c for p in parts for c in p[2]]
    result = sweep(UTC_WEEK, sprints, stories, changes, now=at("2026-03-01T00:00"))
    v = velocity(result.values())
    assert [(e.sprint.name, e.committed, e.completed) for e in v.sprints] == [
        ("S1", 13, 8),
        ("S2", 16, 16),
        ("S3", 13, 8),
        ("S4", 23, 23),
    ]
    assert v.average == pytest.approx((16 + 8 + 23) / 3)  # 15.67, the last three
    assert completed_by_member(result[4]) == {10: 21, 11: 2}
    # Member 10 completed 8, 13, 0, 21; member 11: 0, 3, 8, 2. Averages of the last three:
    capacity = default_capacity(list(result.values()), {})
    assert capacity[10] == pytest.approx((13 + 0 + 21) / 3)
    assert capacity[11] == pytest.approx((3 + 8 + 2) / 3)


def test_default_capacity_counts_sprints_a_member_planned_for_even_without_completions():
    part = closed_sprint(1, date(2026, 1, 5), date(2026, 1, 16), [(1, 8, 10)], {1})
    result = sweep(UTC_WEEK, [part[0]], part[1], part[2], now=at("2026-03-01T00:00"))
    capacity = default_capacity(list(result.values()), {1: {10: 6, 12: 4}})
    assert capacity == {10: 8, 12: 0}  # 12 planned 4 points and completed none
