"""The sweep against a naive oracle: the docs/rules.md rules written out as directly as possible
(every story replayed at every moment, days and moments computed with zoneinfo here, not with
planner's helpers), compared on seeded random histories and on every sprint of the demo file,
both straight from the document and after importing it into the database."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from planner.demo import dated_demo
from planner.domain.history import load_series
from planner.interchange.importer import import_document
from planner.metrics import Calendar, Change, SprintInfo, StoryInfo, sweep, velocity
from planner.models import Project, Sprint
from tests import factories

FIELDS = ("status", "points", "sprint", "stage", "role", "assignee")
STATUSES = ("todo", "in_progress", "review", "done")
POINTS = (None, 0, 1, 2, 3, 5, 8, 13)
STAGES = (None, "data_labeling", "modeling")
ROLES = (None, "annotator", "ml_engineer")
PEOPLE = (None, 11, 12)
ZONES = (
    "UTC",
    "Europe/Berlin",
    "Pacific/Auckland",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Pacific/Kiritimati",
    "America/St_Johns",
)


def naive(calendar: Calendar, sprint: SprintInfo, stories, changes, now: datetime, unit: str):
    """Return (days, committed, scope, done, remaining, by_status) by brute force."""
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

    by_story: dict[int, list[Change]] = {}
    for change in sorted(changes, key=lambda c: c.at):
        by_story.setdefault(change.story_id, []).append(change)

    def state(story: StoryInfo, moment: datetime):
        if not story.created_at < moment:
            return None
        values = {}
        for field in FIELDS:
            own = [c for c in by_story.get(story.id, []) if c.field == field]
            values[field] = own[0].old if own else getattr(story, field)
        for change in by_story.get(story.id, []):
            if change.at < moment:
                values[change.field] = change.new
        return values

    def totals(moment: datetime):
        scope = done = 0
        flow = [0, 0, 0, 0]
        for story in stories:
            values = state(story, moment)
            if values is None or values["sprint"] != sprint.id:
                continue
            weight = 1 if unit == "stories" else (values["points"] or 0)
            scope += weight
            if values["status"] == "done":
                done += weight
            flow[STATUSES.index(values["status"])] += 1
        return scope, done, tuple(flow)

    if sprint.started_at is not None:
        committed_at = sprint.started_at
    else:
        first = days[0] if days else sprint.start
        committed_at = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
    scope0, done0, _ = totals(committed_at)
    final_done = totals(end_of(days[-1]))[1] if days else done0
    today = now.astimezone(tz).date()
    scope, done, remaining, flow = [], [], [], []
    for d in days:
        s, dn, f = totals(end_of(d))
        future = d > today
        scope.append(None if future else s)
        done.append(None if future else dn)
        remaining.append(None if future else s - dn)
        flow.append(None if future else f)
    return (
        [d.isoformat() for d in days],
        scope0 - done0,
        scope,
        done,
        remaining,
        flow,
        final_done,
    )


def random_case(rng: random.Random):
    """A random project calendar, a few sprints and stories with consistent histories."""
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
    for sprint_id in (1, 2, 3):
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
    stories, changes = [], []
    for story_id in range(1, rng.randint(3, 14)):
        created = horizon_start + timedelta(minutes=rng.randint(0, horizon * 1440))
        values = {
            "status": rng.choice(STATUSES),
            "points": rng.choice(POINTS),
            "sprint": rng.choice([None, 1, 2, 3]),
            "stage": rng.choice(STAGES),
            "role": rng.choice(ROLES),
            "assignee": rng.choice(PEOPLE),
        }
        # Some histories start before the story's created_at (an import of another tool's
        # history, a clock skew): those events change the values but the story is not counted
        # before it exists.
        moment = created - timedelta(minutes=rng.choice([0, 0, 0, 30, 3000]))
        for _ in range(rng.randint(0, 12)):
            moment += timedelta(minutes=rng.choice([0, 1, 7, 60, 600, 1440, 2000]))
            field = rng.choice(
                ["status", "status", "points", "sprint", "stage", "role", "assignee"]
            )
            options = {
                "status": STATUSES,
                "points": POINTS,
                "sprint": (None, 1, 2, 3),
                "stage": STAGES,
                "role": ROLES,
                "assignee": PEOPLE,
            }[field]
            new = rng.choice([o for o in options if o != values[field]])
            changes.append(Change(story_id, moment, field, values[field], new))
            values[field] = new
        stories.append(
            StoryInfo(
                story_id,
                f"T-{story_id}",
                created,
                values["status"],
                values["points"],
                values["sprint"],
                values["stage"],
                values["role"],
                values["assignee"],
            )
        )
    now = local(base + timedelta(days=rng.randint(0, horizon)), rng.randint(0, 23))
    return calendar, sprints, stories, changes, now


def assert_same(result, calendar, sprint, stories, changes, now):
    for unit in ("points", "stories"):
        days, committed, scope, done, remaining, flow, _ = naive(
            calendar, sprint, stories, changes, now, unit
        )
        got = result.series(unit)
        assert got["days"] == days
        assert got["committed"] == committed, (unit, sprint)
        assert got["scope"] == scope, (unit, sprint)
        assert got["done"] == done, (unit, sprint)
        assert got["remaining"] == remaining, (unit, sprint)
        # The ideal line: from the commitment at the start of day one down to zero at the end of
        # the last day, in equal steps over the n sprint days.
        n = len(days)
        expected_ideal = [committed - committed * (i + 1) / n for i in range(n)]
        assert got["ideal"] == pytest.approx(expected_ideal), (unit, sprint)
        visible = [t.by_status if result.visible(i) else None for i, t in enumerate(result.per_day)]
        assert visible == flow


@pytest.mark.parametrize("seed", range(300))
def test_the_sweep_matches_the_naive_rules_on_random_histories(seed):
    rng = random.Random(seed)
    calendar, sprints, stories, changes, now = random_case(rng)
    results = sweep(calendar, sprints, stories, changes, now=now)
    for sprint in sprints:
        assert_same(results[sprint.id], calendar, sprint, stories, changes, now)
    assert_velocity(results, calendar, sprints, stories, changes, now)


def assert_velocity(results, calendar, sprints, stories, changes, now):
    """Velocity by the rules: each closed sprint's commitment and the points done at its last
    day's moment, in closing order; the average of the last three completed."""
    closed = sorted((s for s in sprints if s.state == "closed"), key=lambda s: (s.closed_at, s.end))
    expected = []
    for sprint in closed:
        _, committed, _, _, _, _, final_done = naive(
            calendar, sprint, stories, changes, now, "points"
        )
        expected.append((sprint.id, committed, final_done))
    got = velocity(results.values())
    assert [(e.sprint.id, e.committed, e.completed) for e in got.sprints] == expected
    last = [completed for _, _, completed in expected[-3:]]
    assert got.average == (pytest.approx(sum(last) / len(last)) if last else None)


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
    for sprint in sprints:
        assert_same(results[sprint.id], calendar, sprint, stories, changes, NOW)


def test_every_demo_sprint_follows_the_rules_after_importing_it(db_session):
    document = dated_demo(NOW)
    project = import_document(db_session, document, hash_method=factories.HASH)
    db_session.commit()
    rows = db_session.scalars(select(Sprint).where(Sprint.project_id == project.id)).all()
    from_db = load_series(db_session, db_session.get(Project, project.id), rows, now=NOW)
    calendar, sprints, stories, changes = demo_inputs(document)
    by_name = {s.name: s for s in sprints}
    for row in rows:
        assert_same(from_db[row.id], calendar, by_name[row.name], stories, changes, NOW)
