"""Sprint numbers from story history, by the rules of docs/rules.md. Pure: no Flask, no SQL.

Every sprint figure planner shows (burndown, burnup, cumulative flow, velocity, the committed and
completed points of a sprint, its scope changes) comes from `sweep`, which replays a project's
story history once, in time order, keeping each sprint's totals up to date as stories move, and
reads them off at each sprint day's moment.

Rules (docs/rules.md, "Sprint charts"):
- A sprint's days are its working days from start to end; a sprint closed after its end date runs
  through the local date of its close.
- A day's moment is its end (local midnight) or the sprint's closed_at if that comes first. The
  state at a moment takes every event strictly before it, so events at or after closed_at never
  count, and events on a non-working day show on the next sprint day.
- A field's value before its first event is that event's `from`; with no event it has held its
  current value since the story was created. A story does not exist before its created_at.
- committed = remaining at started_at (the start of the first day when not started).
- Days after today (local) are null.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from planner.timeutil import add_days, local_date, local_midnight_after, local_start_of
from planner.vocab import STATUSES

FIELDS = ("status", "points", "sprint", "stage", "role", "assignee")
STATUS_KEYS = tuple(STATUSES)  # todo, in_progress, review, done: the order of the flow


# --- inputs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Calendar:
    """A project's calendar: its timezone, working ISO weekdays and holidays."""

    timezone: str
    working_days: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    holidays: frozenset[date] = frozenset()

    def is_working(self, day: date) -> bool:
        return day.isoweekday() in self.working_days and day not in self.holidays

    def working_days_between(self, first: date, last: date) -> list[date]:
        """Return the working days from `first` to `last` inclusive."""
        days = []
        for offset in range(max((last - first).days + 1, 0)):
            day = first + timedelta(days=offset)
            if self.is_working(day):
                days.append(day)
        return days

    def next_working_day(self, after: date) -> date:
        """Return the first working day strictly after `after` (within a year)."""
        day = add_days(after, 1)
        for _ in range(366):
            if self.is_working(day) or day == date.max:
                return day
            day = add_days(day, 1)
        return add_days(after, 1)


@dataclass(frozen=True)
class SprintInfo:
    id: int
    name: str
    start: date
    end: date
    state: str
    started_at: datetime | None = None
    closed_at: datetime | None = None
    goal: str | None = None


@dataclass(frozen=True)
class StoryInfo:
    """A story's identity and current values (sprint and assignee as ids, stage and role keys)."""

    id: int
    key: str
    created_at: datetime
    status: str
    points: int | None = None
    sprint: int | None = None
    stage: str | None = None
    role: str | None = None
    assignee: int | None = None
    title: str = ""

    def current(self, name: str):
        return getattr(self, name)


@dataclass(frozen=True)
class Change:
    """One event with decoded values: points an int, sprint and assignee ids, others keys."""

    story_id: int
    at: datetime
    field: str
    old: object
    new: object


# --- outputs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoryState:
    """A story's values at one moment."""

    id: int
    key: str
    title: str
    status: str
    points: int | None
    sprint: int | None
    stage: str | None
    role: str | None
    assignee: int | None

    @property
    def weight(self) -> int:
        return self.points or 0


@dataclass(frozen=True)
class ScopeChange:
    """A change of a sprint's scope after its start, on the sprint day whose values it changes.
    `points` is signed: added +p, removed -p, re-estimated new - old."""

    day: date
    story: str
    change: str  # added | removed | re-estimated
    points: int
    at: datetime


@dataclass(frozen=True)
class Totals:
    scope_points: int = 0
    scope_stories: int = 0
    done_points: int = 0
    done_stories: int = 0
    by_status: tuple[int, int, int, int] = (0, 0, 0, 0)  # stories per STATUS_KEYS

    def scope(self, unit: str) -> int:
        return self.scope_stories if unit == "stories" else self.scope_points

    def done(self, unit: str) -> int:
        return self.done_stories if unit == "stories" else self.done_points

    def remaining(self, unit: str) -> int:
        return self.scope(unit) - self.done(unit)


@dataclass
class SprintSeries:
    """Everything the history says about one sprint."""

    sprint: SprintInfo
    days: list[date]
    moments: list[datetime]
    committed_at: datetime
    today: date
    committed: Totals = field(default_factory=Totals)
    per_day: list[Totals] = field(default_factory=list)  # one per day, computed for every day
    scope_changes: list[ScopeChange] = field(default_factory=list)
    committed_stories: list[StoryState] = field(default_factory=list)
    final_stories: list[StoryState] = field(default_factory=list)  # at the last day's moment

    @property
    def final(self) -> Totals:
        """Totals at the last sprint day's moment (the commitment when there are no days)."""
        return self.per_day[-1] if self.per_day else self.committed

    def visible(self, index: int) -> bool:
        """Tell whether day `index` has happened (days after today are null on charts)."""
        return self.days[index] <= self.today

    def series(self, unit: str = "points") -> dict[str, list]:
        """Return days, scope, done, remaining and ideal for `unit` (points or stories)."""
        n = len(self.days)
        committed = self.committed.remaining(unit)

        def value(totals: Totals, index: int, pick) -> int | None:
            return pick(totals) if self.visible(index) else None

        return {
            "days": [d.isoformat() for d in self.days],
            "committed": committed,
            "ideal": [committed * (n - 1 - i) / n for i in range(n)],
            "scope": [value(t, i, lambda t: t.scope(unit)) for i, t in enumerate(self.per_day)],
            "done": [value(t, i, lambda t: t.done(unit)) for i, t in enumerate(self.per_day)],
            "remaining": [
                value(t, i, lambda t: t.remaining(unit)) for i, t in enumerate(self.per_day)
            ],
        }

    def added(self) -> list[ScopeChange]:
        return [c for c in self.scope_changes if c.change == "added"]

    def removed(self) -> list[ScopeChange]:
        return [c for c in self.scope_changes if c.change == "removed"]


# --- the calendar of a sprint ------------------------------------------------------------------


# Sprints last at most 56 days (docs/rules.md); one stored before that limit existed is charted
# over its first year at most, so no stored date can make a report unbounded.
CHART_MAX_DAYS = 366


def sprint_days(calendar: Calendar, sprint: SprintInfo) -> list[date]:
    """Return the sprint's working days; a sprint closed after its end runs to its close date."""
    last = sprint.end
    if sprint.closed_at is not None:
        last = max(last, local_date(sprint.closed_at, calendar.timezone))
    last = min(last, add_days(sprint.start, CHART_MAX_DAYS - 1))
    return calendar.working_days_between(sprint.start, last)


def day_moment(calendar: Calendar, sprint: SprintInfo, day: date) -> datetime:
    """Return the moment a day's values are read: its end, or closed_at if that comes first."""
    end = local_midnight_after(day, calendar.timezone)
    if sprint.closed_at is not None and sprint.closed_at < end:
        return sprint.closed_at
    return end


def commitment_moment(calendar: Calendar, sprint: SprintInfo, days: Sequence[date]) -> datetime:
    """Return when the commitment is read: started_at, else the start of the first sprint day."""
    if sprint.started_at is not None:
        return sprint.started_at
    return local_start_of(days[0] if days else sprint.start, calendar.timezone)


# --- the sweep ---------------------------------------------------------------------------------


class RunningTotals:
    """Running totals of one sprint during a sweep (this one, and the active sprint's resumed
    sweep in planner.domain.series)."""

    __slots__ = (
        "scope_points",
        "scope_stories",
        "done_points",
        "done_stories",
        "by_status",
        "members",
    )

    def __init__(self) -> None:
        self.scope_points = self.scope_stories = self.done_points = self.done_stories = 0
        self.by_status = [0, 0, 0, 0]
        self.members: set[int] = set()

    def add(self, story_id: int, values: dict, sign: int) -> None:
        points = values["points"] or 0
        self.scope_points += sign * points
        self.scope_stories += sign
        if values["status"] == "done":
            self.done_points += sign * points
            self.done_stories += sign
        if values["status"] in STATUS_KEYS:
            self.by_status[STATUS_KEYS.index(values["status"])] += sign
        if sign > 0:
            self.members.add(story_id)
        else:
            self.members.discard(story_id)

    def totals(self) -> Totals:
        return Totals(
            self.scope_points,
            self.scope_stories,
            self.done_points,
            self.done_stories,
            tuple(self.by_status),
        )


def sweep(
    calendar: Calendar,
    sprints: Iterable[SprintInfo],
    stories: Iterable[StoryInfo],
    changes: Iterable[Change],
    *,
    now: datetime,
) -> dict[int, SprintSeries]:
    """Replay the history once and return every sprint's series, keyed by sprint id.

    `stories` must include every story that was ever in one of `sprints`, and `changes` every
    event of those stories. Linear in events plus sprint days (after sorting).
    """
    stories = list(stories)
    changes = sorted(changes, key=lambda c: c.at)  # stable: ties keep their recorded order
    today = local_date(now, calendar.timezone)
    keys = {s.id: s.key for s in stories}
    titles = {s.id: s.title for s in stories}

    # Each story's values before its first event.
    first_old: dict[tuple[int, str], object] = {}
    for change in changes:
        first_old.setdefault((change.story_id, change.field), change.old)
    values = {s.id: {f: first_old.get((s.id, f), s.current(f)) for f in FIELDS} for s in stories}

    result: dict[int, SprintSeries] = {}
    moments: list[tuple[datetime, int, int, int]] = []  # (moment, order, sprint id, day index)
    for sprint in sprints:
        days = sprint_days(calendar, sprint)
        day_moments = [day_moment(calendar, sprint, d) for d in days]
        committed_at = commitment_moment(calendar, sprint, days)
        result[sprint.id] = SprintSeries(
            sprint=sprint, days=days, moments=day_moments, committed_at=committed_at, today=today
        )
        moments.append((committed_at, 0, sprint.id, -1))
        moments.extend((m, 1, sprint.id, i) for i, m in enumerate(day_moments))
    moments.sort(key=lambda m: (m[0], m[1]))

    # The timeline in time order; a creation precedes an event at the same instant.
    timeline = [(s.created_at, 0, s.id, None) for s in stories]
    timeline.extend((c.at, 1, c.story_id, c) for c in changes)
    timeline.sort(key=lambda item: (item[0], item[1]))

    running: dict[int | None, RunningTotals] = defaultdict(RunningTotals)
    exists: set[int] = set()
    position = 0

    def state_of(story_id: int) -> StoryState:
        v = values[story_id]
        return StoryState(
            story_id,
            keys[story_id],
            titles[story_id],
            v["status"],
            v["points"],
            v["sprint"],
            v["stage"],
            v["role"],
            v["assignee"],
        )

    def note_scope_change(sprint_id, story_id, at, change, points) -> None:
        series = result.get(sprint_id)
        if series is None or at < series.committed_at or not series.moments:
            return
        if at >= series.moments[-1]:
            return  # after the last day's moment: on no day of this sprint
        day_index = bisect.bisect_right(series.moments, at)
        series.scope_changes.append(
            ScopeChange(series.days[day_index], keys[story_id], change, points, at)
        )

    def apply(item) -> None:
        at, kind, story_id, change = item
        v = values[story_id]
        if kind == 0:
            exists.add(story_id)
            running[v["sprint"]].add(story_id, v, +1)
            note_scope_change(v["sprint"], story_id, at, "added", v["points"] or 0)
            return
        if story_id not in exists:
            v[change.field] = change.new
            return
        old_sprint, old_points = v["sprint"], v["points"] or 0
        running[old_sprint].add(story_id, v, -1)
        v[change.field] = change.new
        running[v["sprint"]].add(story_id, v, +1)
        if change.field == "sprint":
            note_scope_change(old_sprint, story_id, at, "removed", -old_points)
            note_scope_change(v["sprint"], story_id, at, "added", v["points"] or 0)
        elif change.field == "points" and (v["points"] or 0) != old_points:
            note_scope_change(
                v["sprint"], story_id, at, "re-estimated", (v["points"] or 0) - old_points
            )

    for moment, order, sprint_id, index in moments:
        while position < len(timeline) and timeline[position][0] < moment:
            apply(timeline[position])
            position += 1
        series = result[sprint_id]
        totals = running[sprint_id]
        if order == 0:
            series.committed = totals.totals()
            series.committed_stories = [state_of(i) for i in sorted(totals.members)]
        else:
            series.per_day.append(totals.totals())
            if index == len(series.days) - 1:
                series.final_stories = [state_of(i) for i in sorted(totals.members)]
    for series in result.values():
        if not series.days:
            series.final_stories = list(series.committed_stories)
        series.scope_changes.sort(key=lambda c: c.at)
    return result


# --- a sprint in one paragraph -----------------------------------------------------------------


@dataclass(frozen=True)
class SprintSummary:
    """What happened to a sprint's scope, in points and stories (docs/rules.md rules)."""

    committed_points: int
    committed_stories: int
    added_points: int
    added_stories: int
    removed_points: int
    removed_stories: int
    reestimated_points: int  # net change from re-estimates of stories in the sprint
    completed_points: int
    completed_stories: int
    carried_points: int  # unfinished at the last day's moment (at the close for a closed sprint)
    carried_stories: int
    scope_points: int  # at the last day's moment
    scope_stories: int


def summarize(series: SprintSeries) -> SprintSummary:
    """Summarise a sprint: committed, added after the start, removed, completed, carried over."""
    added = series.added()
    removed = series.removed()
    final = series.final
    unfinished = [s for s in series.final_stories if s.status != "done"]
    return SprintSummary(
        committed_points=series.committed.remaining("points"),
        committed_stories=series.committed.remaining("stories"),
        added_points=sum(c.points for c in added),
        added_stories=len({c.story for c in added}),
        removed_points=-sum(c.points for c in removed),
        removed_stories=len({c.story for c in removed}),
        reestimated_points=sum(
            c.points for c in series.scope_changes if c.change == "re-estimated"
        ),
        completed_points=final.done_points,
        completed_stories=final.done_stories,
        carried_points=sum(s.weight for s in unfinished),
        carried_stories=len(unfinished),
        scope_points=final.scope_points,
        scope_stories=final.scope_stories,
    )


# --- velocity and capacity ---------------------------------------------------------------------


@dataclass(frozen=True)
class VelocityEntry:
    sprint: SprintInfo
    committed: int
    completed: int


@dataclass(frozen=True)
class Velocity:
    sprints: list[VelocityEntry]
    average: float | None  # of the last three closed sprints' completed points
    window: list[VelocityEntry]  # the sprints the average is taken over


def velocity(series: Iterable[SprintSeries], last: int = 3) -> Velocity:
    """Committed and completed points per closed sprint, oldest first, and the average completed
    of the last `last` closed sprints."""
    closed = sorted(
        (s for s in series if s.sprint.state == "closed"),
        key=lambda s: (s.sprint.closed_at or datetime.min, s.sprint.end),
    )
    entries = [
        VelocityEntry(s.sprint, s.committed.remaining("points"), s.final.done("points"))
        for s in closed
    ]
    window = entries[-last:]
    average = sum(e.completed for e in window) / len(window) if window else None
    return Velocity(entries, average, window)


def completed_by_member(series: SprintSeries) -> dict[int, int]:
    """Points each assignee completed in a sprint (done at its last day's moment)."""
    done: dict[int, int] = defaultdict(int)
    for story in series.final_stories:
        if story.status == "done" and story.assignee is not None:
            done[story.assignee] += story.weight
    return dict(done)


def default_capacity(
    closed: Sequence[SprintSeries], planned: dict[int, dict[int, int]], last: int = 3
) -> dict[int, float]:
    """Each member's average completed points over the last `last` closed sprints in which they
    took part: had planned capacity, or had stories assigned at the sprint's end (finished or not,
    so unfinished work counts as 0, not as absence). `planned` maps sprint id to the capacity rows
    {account id: points} recorded for it. Members with no such sprint get no default."""
    ordered = sorted(
        (s for s in closed if s.sprint.state == "closed"),
        key=lambda s: (s.sprint.closed_at or datetime.min, s.sprint.end),
    )
    history: dict[int, list[int]] = defaultdict(list)
    for series in ordered:
        done = completed_by_member(series)
        assigned = {story.assignee for story in series.final_stories if story.assignee is not None}
        for member in assigned | set(planned.get(series.sprint.id, {})):
            history[member].append(done.get(member, 0))
    return {member: sum(v[-last:]) / len(v[-last:]) for member, v in history.items()}
