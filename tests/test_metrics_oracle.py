"""The sweep against a naive oracle: the docs/rules.md rules written out as directly as possible
(every story replayed at every moment, days and moments computed with zoneinfo here, not with
planner's helpers), compared on seeded random histories and on every sprint of the demo file,
both straight from the document and after importing it into the database.

Checked for every sprint: the days, committed, scope, done, remaining and ideal in both units,
the cumulative flow, the scope changes (day, story, kind, points, instant), the stories in the
sprint at the commitment and at the last day's moment with all their values, the points each
assignee completed, the sprint's summary (`summarize`) and, per project, the velocity. Nothing
here calls planner to compute an expected value: planner.metrics is imported for its input
types and for the functions under test only."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from planner.demo import dated_demo
from planner.domain.history import load_series
from planner.interchange.importer import import_document
from planner.metrics import (
    Calendar,
    Change,
    SprintInfo,
    SprintSummary,
    StoryInfo,
    completed_by_member,
    summarize,
    sweep,
    velocity,
)
from planner.models import Project, Sprint
from tests import factories

FIELDS = ("status", "points", "sprint", "stage", "role", "assignee")
STATUSES = ("todo", "in_progress", "review", "done")
POINTS = (None, 0, 1, 2, 3, 5, 8, 13)
STAGES = (None, "data_labeling", "modeling")
ROLES = (None, "annotator", "ml_engineer")
PEOPLE = (None, 11, 12)
OPTIONS = {  # with "sprint": None or one of the case's sprints
    "status": STATUSES,
    "points": POINTS,
    "stage": STAGES,
    "role": ROLES,
    "assignee": PEOPLE,
}
ZONES = (
    "UTC",
    "Europe/Berlin",
    "Pacific/Auckland",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Pacific/Kiritimati",
    "America/St_Johns",
)
UNITS = ("points", "stories")


# --- the oracle --------------------------------------------------------------------------------


def histories(changes) -> dict[int, list[Change]]:
    """Each story's events in time order (ties keep their recorded order)."""
    by_story: dict[int, list[Change]] = {}
    for change in sorted(changes, key=lambda c: c.at):
        by_story.setdefault(change.story_id, []).append(change)
    return by_story


def values_before_history(story: StoryInfo, own: list[Change]) -> dict:
    """A field's value before its first event is that event's `from`; with no event, its current
    value."""
    values = {}
    for name in FIELDS:
        firsts = [c for c in own if c.field == name]
        values[name] = firsts[0].old if firsts else getattr(story, name)
    return values


def state(story: StoryInfo, own: list[Change], moment: datetime) -> dict | None:
    """The story's values at `moment` (every event strictly before it); None before it exists."""
    if not story.created_at < moment:
        return None
    values = values_before_history(story, own)
    for change in own:
        if change.at < moment:
            values[change.field] = change.new
    return values


@dataclass
class Expected:
    days: list[str]
    committed: dict[str, int]  # by unit
    scope: dict[str, list]
    done: dict[str, list]
    remaining: dict[str, list]
    ideal: dict[str, list[Fraction]]
    flow: list
    final: dict[str, tuple[int, int]]  # by unit: (scope, done) at the last day's moment
    committed_at: datetime
    last_moment: datetime | None  # None without days
    committed_stories: list[tuple]
    final_stories: list[tuple]
    scope_changes: list[tuple]  # (day, story key, change, points, at)


def row(story: StoryInfo, values: dict) -> tuple:
    return (
        story.id,
        story.key,
        story.title,
        values["status"],
        values["points"],
        values["sprint"],
        values["stage"],
        values["role"],
        values["assignee"],
    )


def naive(calendar: Calendar, sprint: SprintInfo, stories, by_story, now: datetime) -> Expected:
    """Everything docs/rules.md says about one sprint, by brute force."""
    tz = ZoneInfo(calendar.timezone)
    last = sprint.end
    if sprint.closed_at is not None:
        last = max(last, sprint.closed_at.astimezone(tz).date())
    days, day = [], sprint.start
    while day <= last:
        if day.isoweekday() in calendar.working_days and day not in calendar.holidays:
            days.append(day)
        day += timedelta(days=1)

    def end_of(d: date) -> datetime:
        moment = datetime.combine(d + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
        if sprint.closed_at is not None and sprint.closed_at < moment:
            return sprint.closed_at
        return moment

    def members(moment: datetime) -> list[tuple]:
        """The sprint's stories at `moment`, in id order, with their values then."""
        found = []
        for story in sorted(stories, key=lambda s: s.id):
            values = state(story, by_story.get(story.id, []), moment)
            if values is not None and values["sprint"] == sprint.id:
                found.append(row(story, values))
        return found

    def totals(rows) -> dict[str, tuple[int, int]]:
        points = sum(r[4] or 0 for r in rows)
        points_done = sum(r[4] or 0 for r in rows if r[3] == "done")
        stories_done = sum(1 for r in rows if r[3] == "done")
        return {"points": (points, points_done), "stories": (len(rows), stories_done)}

    if sprint.started_at is not None:
        committed_at = sprint.started_at
    else:
        first = days[0] if days else sprint.start
        committed_at = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
    at_commit = members(committed_at)
    per_day = [members(end_of(d)) for d in days]
    final_rows = per_day[-1] if days else at_commit
    today = now.astimezone(tz).date()
    visible = [d <= today for d in days]

    expected = Expected(
        days=[d.isoformat() for d in days],
        committed={},
        scope={},
        done={},
        remaining={},
        ideal={},
        flow=[
            tuple(sum(1 for r in rows if r[3] == s) for s in STATUSES) if shown else None
            for rows, shown in zip(per_day, visible, strict=True)
        ],
        final=totals(final_rows),
        committed_at=committed_at,
        last_moment=end_of(days[-1]) if days else None,
        committed_stories=at_commit,
        final_stories=final_rows,
        scope_changes=[],
    )
    n = len(days)
    for unit in UNITS:
        scope0, done0 = totals(at_commit)[unit]
        committed = scope0 - done0
        expected.committed[unit] = committed
        daily = [
            totals(rows)[unit] if shown else None
            for rows, shown in zip(per_day, visible, strict=True)
        ]
        expected.scope[unit] = [None if t is None else t[0] for t in daily]
        expected.done[unit] = [None if t is None else t[1] for t in daily]
        expected.remaining[unit] = [None if t is None else t[0] - t[1] for t in daily]
        # From the commitment at the start of day one down to 0 at the end of day n, in n equal
        # steps of committed / n: after day i, i + 1 steps are gone.
        step = Fraction(committed, n) if n else Fraction(0)
        expected.ideal[unit] = [committed - step * (i + 1) for i in range(n)]

    # Scope changes: every instant from the commitment (events strictly before it are part of
    # the commitment, so one at it is not) up to the last day's moment (events at or after it
    # are on no day of this sprint) at which a story enters the sprint, leaves it, or changes its
    # points while in it. A story enters when it is created in the sprint or moved into it. The
    # change shows on the first day whose moment is after it.
    if days:
        last_moment = expected.last_moment
        for story in sorted(stories, key=lambda s: s.id):
            own = by_story.get(story.id, [])
            values = values_before_history(story, own)
            exists = False
            # The creation precedes an event at the same instant.
            steps = [(story.created_at, 0, None)] + [(c.at, 1, c) for c in own]
            for at, kind, change in sorted(steps, key=lambda s: (s[0], s[1])):
                was_in = exists and values["sprint"] == sprint.id
                was_points = values["points"] or 0
                if kind == 0:
                    exists = True
                else:
                    values[change.field] = change.new
                is_in = exists and values["sprint"] == sprint.id
                points = values["points"] or 0
                if not committed_at <= at < last_moment:
                    continue
                shown_on = next(d for d in days if at < end_of(d))
                if is_in and not was_in:
                    expected.scope_changes.append((shown_on, story.key, "added", points, at))
                elif was_in and not is_in:
                    expected.scope_changes.append((shown_on, story.key, "removed", -was_points, at))
                elif is_in and points != was_points:
                    expected.scope_changes.append(
                        (shown_on, story.key, "re-estimated", points - was_points, at)
                    )
    return expected


def expected_summary(expected: Expected) -> SprintSummary:
    """The sprint in one paragraph. docs/rules.md leaves the summary to metrics.SprintSummary's
    field notes: added, removed and re-estimated points are the sums of those scope changes (a
    story added twice adds its points twice), their story counts are distinct stories;
    completed, scope and carried (not done) are read at the last day's moment."""
    changes = expected.scope_changes
    added = [c for c in changes if c[2] == "added"]
    removed = [c for c in changes if c[2] == "removed"]
    unfinished = [r for r in expected.final_stories if r[3] != "done"]
    return SprintSummary(
        committed_points=expected.committed["points"],
        committed_stories=expected.committed["stories"],
        added_points=sum(c[3] for c in added),
        added_stories=len({c[1] for c in added}),
        removed_points=sum(-c[3] for c in removed),
        removed_stories=len({c[1] for c in removed}),
        reestimated_points=sum(c[3] for c in changes if c[2] == "re-estimated"),
        completed_points=expected.final["points"][1],
        completed_stories=expected.final["stories"][1],
        carried_points=sum(r[4] or 0 for r in unfinished),
        carried_stories=len(unfinished),
        scope_points=expected.final["points"][0],
        scope_stories=expected.final["stories"][0],
    )


def state_rows(states) -> list[tuple]:
    return [
        (s.id, s.key, s.title, s.status, s.points, s.sprint, s.stage, s.role, s.assignee)
        for s in states
    ]


def same(value):
    return value


def assert_same(result, expected: Expected, story_row=same, person=same):
    """Compare one sprint's series with the oracle. `story_row` and `person` map the result's
    story rows and account ids to the oracle's (the database has its own ids)."""
    sprint = result.sprint
    for unit in UNITS:
        got = result.series(unit)
        assert got["days"] == expected.days
        assert got["committed"] == expected.committed[unit], (unit, sprint)
        assert got["scope"] == expected.scope[unit], (unit, sprint)
        assert got["done"] == expected.done[unit], (unit, sprint)
        assert got["remaining"] == expected.remaining[unit], (unit, sprint)
        # Exact up to the rounding of one division; the last point is exactly 0.
        ideal = [float(v) for v in expected.ideal[unit]]
        assert got["ideal"] == pytest.approx(ideal, rel=1e-12, abs=0), (unit, sprint)
    flow = [t.by_status if result.visible(i) else None for i, t in enumerate(result.per_day)]
    assert flow == expected.flow
    assert [story_row(r) for r in state_rows(result.committed_stories)] == (
        expected.committed_stories
    )
    assert [story_row(r) for r in state_rows(result.final_stories)] == expected.final_stories
    changes = [(c.day, c.story, c.change, c.points, c.at) for c in result.scope_changes]
    # In time order; among changes at one instant the order is not a rule.
    assert [c[4] for c in changes] == sorted(c[4] for c in changes), sprint
    assert sorted(changes) == sorted(expected.scope_changes), sprint
    summary = expected_summary(expected)
    assert summarize(result) == summary, sprint
    if expected.days and expected.committed_at <= expected.last_moment:
        # The summary adds up in points: the commitment, plus what was added, minus what was
        # removed, plus re-estimates, is the final scope less what was done at the start.
        done0 = sum(r[4] or 0 for r in expected.committed_stories if r[3] == "done")
        assert (
            summary.committed_points
            + summary.added_points
            - summary.removed_points
            + summary.reestimated_points
            == summary.scope_points - done0
        ), sprint
    by_member: dict[int, int] = {}
    for r in expected.final_stories:
        if r[3] == "done" and r[8] is not None:
            by_member[r[8]] = by_member.get(r[8], 0) + (r[4] or 0)
    got_by_member = {person(m): p for m, p in completed_by_member(result).items()}
    assert got_by_member == by_member, sprint


def assert_velocity(results, expected_by_sprint: dict[int, Expected], sprints):
    """Velocity by the rules: each closed sprint's commitment and the points done at its last
    day's moment, in closing order; the average of the last three completed."""
    closed = sorted((s for s in sprints if s.state == "closed"), key=lambda s: (s.closed_at, s.end))
    expected = [
        (
            s.name,
            expected_by_sprint[s.id].committed["points"],
            expected_by_sprint[s.id].final["points"][1],
        )
        for s in closed
    ]
    got = velocity(results)
    assert [(e.sprint.name, e.committed, e.completed) for e in got.sprints] == expected
    window = expected[-3:]
    assert [(e.sprint.name, e.committed, e.completed) for e in got.window] == window
    if window:
        average = Fraction(sum(c for _, _, c in window), len(window))
        assert got.average == pytest.approx(float(average), rel=1e-12, abs=0)
    else:
        assert got.average is None


# --- random histories --------------------------------------------------------------------------


def random_case(rng: random.Random):
    """A random project calendar, a few sprints and stories with consistent histories that change
    every recorded field, some starting before the story exists, and many events falling exactly
    on a sprint's start, close or a local midnight (the moments the rules compare against)."""
    zone = rng.choice(ZONES)
    working = frozenset(rng.sample(range(1, 8), rng.randint(3, 7)))
    base = date(2026, 3, 2) + timedelta(days=rng.randint(-30, 30))
    holidays = frozenset(
        base + timedelta(days=rng.randint(0, 30)) for _ in range(rng.randint(0, 3))
    )
    calendar = Calendar(zone, working, holidays)
    tz = ZoneInfo(zone)

    def local(d: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(d, time(hour, minute), tzinfo=tz).astimezone(UTC)

    sprints = []
    start = base
    # Up to five sprints, so that velocity sometimes has more than three closed ones to leave out.
    for sprint_id in range(1, rng.choice([3, 3, 4, 5]) + 1):
        end = start + timedelta(days=rng.randint(0, 13))
        state = rng.choice(["closed", "closed", "active", "planned"])
        started = (
            local(start, rng.choice([0, 9, 23]), rng.choice([0, 30, 59]))
            if state != "planned"
            else None
        )
        closed = None
        if state == "closed":
            closed = local(
                end + timedelta(days=rng.randint(-4, 4)), rng.randint(0, 23), rng.randint(0, 59)
            )
            if closed <= started:
                closed = started + timedelta(hours=rng.randint(1, 100))
        sprints.append(SprintInfo(sprint_id, f"S{sprint_id}", start, end, state, started, closed))
        start = end + timedelta(days=rng.randint(1, 4))
    horizon_start = local(base - timedelta(days=5), 0)
    horizon = (sprints[-1].end - base).days + 12
    # The instants the rules compare events with: commitments, closes and local midnights.
    instants = [s.started_at for s in sprints if s.started_at is not None]
    instants += [s.closed_at for s in sprints if s.closed_at is not None]
    instants += [local(base + timedelta(days=k), 0) for k in range(-1, horizon)]
    stories, changes = [], []
    for story_id in range(1, rng.randint(3, 14)):
        if rng.random() < 0.2:
            created = rng.choice(instants)
        else:
            created = horizon_start + timedelta(minutes=rng.randint(0, horizon * 1440))
        options = {**OPTIONS, "sprint": (None, *(s.id for s in sprints))}
        values = {name: rng.choice(choices) for name, choices in options.items()}
        # Some histories start before the story's created_at (an import of another tool's
        # history, a clock skew): those events change the values but the story is not counted
        # before it exists.
        moment = created - timedelta(minutes=rng.choice([0, 0, 0, 30, 3000]))
        moments = []
        for _ in range(rng.randint(0, 12)):
            if rng.random() < 0.2:
                moments.append(rng.choice(instants))
            else:
                moment += timedelta(minutes=rng.choice([0, 1, 7, 60, 600, 1440, 2000]))
                moments.append(moment)
        for at in sorted(moments):
            name = rng.choice(["status", "status", "points", "sprint", "stage", "role", "assignee"])
            new = rng.choice([o for o in options[name] if o != values[name]])
            changes.append(Change(story_id, at, name, values[name], new))
            values[name] = new
        stories.append(StoryInfo(story_id, f"T-{story_id}", created, **values))
    now = local(base + timedelta(days=rng.randint(0, horizon)), rng.randint(0, 23))
    return calendar, sprints, stories, changes, now


@pytest.mark.parametrize("seed", range(300))
def test_the_sweep_matches_the_naive_rules_on_random_histories(seed):
    rng = random.Random(seed)
    calendar, sprints, stories, changes, now = random_case(rng)
    results = sweep(calendar, sprints, stories, changes, now=now)
    by_story = histories(changes)
    expected = {s.id: naive(calendar, s, stories, by_story, now) for s in sprints}
    for sprint in sprints:
        assert_same(results[sprint.id], expected[sprint.id])
    assert_velocity(results.values(), expected, sprints)


def test_the_random_histories_reach_every_case_the_rules_name():
    """The generator is worth its run time only if it produces the cases the rules single out."""
    seen = set()
    for seed in range(300):
        calendar, sprints, stories, changes, now = random_case(random.Random(seed))
        created = {s.id: s.created_at for s in stories}
        moments = {s.started_at for s in sprints} | {s.closed_at for s in sprints}
        for change in changes:
            seen.add(change.field)
            if change.at < created[change.story_id]:
                seen.add("event before its story exists")
            if change.at == created[change.story_id]:
                seen.add("event at its story's creation")
            if change.at in moments:
                seen.add("event at a start or close")
        if len([s for s in sprints if s.state == "closed"]) > 3:
            seen.add("more than three closed sprints")
        by_story = histories(changes)
        for sprint in sprints:
            for kind in {
                c[2] for c in naive(calendar, sprint, stories, by_story, now).scope_changes
            }:
                seen.add(kind)
    assert seen >= set(FIELDS) | {
        "event before its story exists",
        "event at its story's creation",
        "event at a start or close",
        "more than three closed sprints",
        "added",
        "removed",
        "re-estimated",
    }


# --- the demo ----------------------------------------------------------------------------------


def demo_inputs(document):
    """The demo document as metric inputs, with ids made up from names and emails."""
    project = document["project"]
    calendar = Calendar(
        project["timezone"],
        frozenset(project["working_days"]),
        frozenset(date.fromisoformat(d) for d in project["holidays"]),
    )
    sprint_ids = {s["name"]: i for i, s in enumerate(document["sprints"], start=1)}
    people = {m["email"]: i for i, m in enumerate(document["members"], start=1)}

    def ts(text):
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None

    sprints = [
        SprintInfo(
            sprint_ids[s["name"]],
            s["name"],
            date.fromisoformat(s["start"]),
            date.fromisoformat(s["end"]),
            s["state"],
            ts(s.get("started_at")),
            ts(s.get("closed_at")),
        )
        for s in document["sprints"]
    ]

    def value(field, raw):
        if raw is None:
            return None
        return {"sprint": sprint_ids, "assignee": people}.get(field, {}).get(raw, raw)

    stories, changes = [], []
    for s in document["stories"]:
        number = int(s["key"].rsplit("-", 1)[1])
        stories.append(
            StoryInfo(
                number,
                s["key"],
                ts(s["created_at"]),
                s["status"],
                s["points"],
                value("sprint", s["sprint"]),
                s["stage"],
                s["role"],
                value("assignee", s["assignee"]),
                s["title"],
            )
        )
        changes.extend(
            Change(
                number,
                ts(e["at"]),
                e["field"],
                value(e["field"], e["from"]),
                value(e["field"], e["to"]),
            )
            for e in s["history"]
        )
    return calendar, sprints, stories, changes


NOW = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)


def test_every_demo_sprint_follows_the_rules_straight_from_the_file():
    calendar, sprints, stories, changes = demo_inputs(dated_demo(NOW))
    results = sweep(calendar, sprints, stories, changes, now=NOW)
    by_story = histories(changes)
    expected = {s.id: naive(calendar, s, stories, by_story, NOW) for s in sprints}
    for sprint in sprints:
        assert_same(results[sprint.id], expected[sprint.id])
    assert_velocity(results.values(), expected, sprints)
    # The demo is meant to show every kind of scope change and a velocity.
    kinds = {c[2] for e in expected.values() for c in e.scope_changes}
    assert kinds == {"added", "removed", "re-estimated"}
    assert len([s for s in sprints if s.state == "closed"]) == 3


def test_every_demo_sprint_follows_the_rules_after_importing_it(db_session):
    from tests.demo_oracle import demo_oracle  # built on this module's oracle

    document = dated_demo(NOW)
    project = import_document(db_session, document, hash_method=factories.HASH)
    db_session.commit()
    rows = db_session.scalars(select(Sprint).where(Sprint.project_id == project.id)).all()
    from_db = load_series(db_session, db_session.get(Project, project.id), rows, now=NOW)
    # The database's ids, mapped to the oracle's through names, emails and story keys.
    oracle = demo_oracle(db_session, document, rows, NOW)
    for sprint_row in rows:
        assert_same(
            from_db[sprint_row.id], oracle.expected_for(sprint_row), oracle.story_row, oracle.person
        )
    assert_velocity(from_db.values(), oracle.expected, oracle.sprints)
