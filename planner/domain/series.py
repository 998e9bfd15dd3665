"""Stored sprint series (docs/rules.md, "Stored series"): a closed sprint's series computed once,
and an active sprint's state kept through its last completed day.

Closed sprints. The rules freeze a closed sprint's numbers at its close (events at or after
`closed_at` never count), so its series is computed by the sweep once, stored in `sprint_series`
with what it was computed from, and read back afterwards. The row is in three parts, so a read
decodes only what it uses: `payload` (the days, moments and totals, and the number of scope
changes with a summary per day: all a burndown or velocity read decodes), `changes` (the scope
changes, one JSON array a line; a page of them is read with substr(), the whole column only when
every change is asked for) and `stories` (the stories at the commitment and at the close, read
when asked for). A stored row is used only while it still matches:

- `rules_version` is RULES_VERSION (bumped whenever planner.metrics' rules change);
- no story_event newer than `last_event_id`, no title edit newer than `last_title_id` and no
  story newer than `last_story_id` concerns the stories ever in the sprint (in it now, or moved
  into or out of it by an event): an import adding history, say, rebuilds it;
- `inputs` is still the fingerprint of everything else the sweep reads for that sprint: the
  sprint's dates, `started_at` and `closed_at`, the project's key, timezone and working weekdays,
  and the holidays among the sprint's possible days.

Active sprints. The row holds the sweep's state at T, the end of `through` (the last day before
"today", local): each story's values set by an event before T, and the series' values whose
moments come before T (the commitment, the days, the scope changes). A read sweeps only what is
at or after T: the events dated T or later (old and new) and the stories created then, and
takes a field's value that no event before T set from the stories' current rows, as the sweep
does. It rebuilds instead when an event newer than `last_event_id` is dated before T (a
past-dated import), when a story newly ever in the sprint was in it before T, when a value before
T that no event before T set (a field's first event's `from`, else the current value) is not the
one the state was computed with (only imported histories do that), or on any of the
closed-sprint reasons above but new events and new stories; and it stores the state again when a
later day has ended. tests/test_series_active.py checks it against a fresh sweep.

The sprint's name and goal and "today" are not stored: they are taken from the sprint row and the
clock at each read, as the sweep does. Planned sprints are never stored.
"""

from __future__ import annotations

import bisect
import gc
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import LargeBinary, String, and_, cast, exists, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from planner.domain.history import calendar_of, load_series, sprint_info
from planner.metrics import (
    CHART_MAX_DAYS,
    FIELDS,
    Calendar,
    RunningTotals,
    ScopeChange,
    SprintSeries,
    StoryState,
    Totals,
    commitment_moment,
    day_moment,
    sprint_days,
)
from planner.models import (
    Project,
    Sprint,
    Stage,
    StoredSeries,
    Story,
    StoryEvent,
    StoryTextChange,
)
from planner.scope_changes import DaySummary
from planner.timeutil import add_days, local_date, local_midnight_after, local_start_of, utcnow

# The version of the sprint-chart rules the stored series were computed by. Bump it with any change
# to planner.metrics (or to what planner.domain.history feeds it) that can move a number: every
# stored series is then rebuilt on its next read.
RULES_VERSION = 1

CHUNK = 100  # scope changes per stored offset: a page reads at most CHUNK - 1 more than it shows
_INT_FIELDS = ("points", "sprint", "assignee")


# --- the parts of a row ------------------------------------------------------------------------


def _at(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _totals(t: Totals) -> list:
    return [t.scope_points, t.scope_stories, t.done_points, t.done_stories, list(t.by_status)]


def _state(s: StoryState) -> list:
    return [s.id, s.key, s.title, s.status, s.points, s.sprint, s.stage, s.role, s.assignee]


def _summary_rows(changes: Sequence[ScopeChange]) -> list[list]:
    rows: dict[date, list[int]] = {}
    for c in changes:
        row = rows.setdefault(c.day, [0] * 6)
        kind = ("added", "removed", "re-estimated").index(c.change)
        row[kind] += 1
        row[3 + kind] += c.points
    return [[day.isoformat(), *rows[day]] for day in sorted(rows)]


@dataclass(frozen=True)
class Parts:
    """The three text columns of a row."""

    payload: str
    changes: bytes
    stories: str


def dump_parts(
    *,
    days: Sequence[date],
    moments: Sequence[datetime],
    committed_at: datetime,
    committed: Totals | None,
    per_day: Sequence[Totals],
    scope_changes: Sequence[ScopeChange],
    committed_stories: Sequence[StoryState] | None,
    final_stories: Sequence[StoryState] | None,
) -> Parts:
    """Serialise a series (or, for an active sprint, what of it comes before T) as compact JSON:
    None for what is not known yet."""
    lines = [
        json.dumps(
            [c.day.isoformat(), c.story, c.change, c.points, _at(c.at)], separators=(",", ":")
        )
        for c in scope_changes
    ]  # ASCII (ensure_ascii), so substr() counts the same characters on every database
    offsets, position = [], 0
    for index, line in enumerate(lines):
        if index % CHUNK == 0:
            offsets.append(position)
        position += len(line) + 1
    changes = "\n".join(lines)
    payload = {
        "days": [d.isoformat() for d in days],
        "moments": [_at(m) for m in moments],
        "committed_at": _at(committed_at),
        "committed": None if committed is None else _totals(committed),
        "per_day": [_totals(t) for t in per_day],
        "changes": {
            "count": len(lines),
            "length": len(changes),
            "offsets": offsets,
            "summary": _summary_rows(scope_changes),
        },
        "stories": [
            None if committed_stories is None else len(committed_stories),
            None if final_stories is None else len(final_stories),
        ],
    }
    stories = {
        "committed": None if committed_stories is None else [_state(s) for s in committed_stories],
        "final": None if final_stories is None else [_state(s) for s in final_stories],
    }
    compact = {"separators": (",", ":"), "ensure_ascii": False}
    return Parts(
        json.dumps(payload, **compact), changes.encode("ascii"), json.dumps(stories, **compact)
    )


def dump(series: SprintSeries) -> Parts:
    """Serialise a whole series (all but its SprintInfo and today)."""
    return dump_parts(
        days=series.days,
        moments=series.moments,
        committed_at=series.committed_at,
        committed=series.committed,
        per_day=series.per_day,
        scope_changes=series.scope_changes,
        committed_stories=series.committed_stories,
        final_stories=series.final_stories,
    )


def _parse_at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _load_totals(row: list) -> Totals:
    return Totals(row[0], row[1], row[2], row[3], tuple(row[4]))


def _change(row: list) -> ScopeChange:
    return ScopeChange(date.fromisoformat(row[0]), row[1], row[2], row[3], _parse_at(row[4]))


def _without_gc(action: Callable[[], object]):
    """Run `action` without the cyclic collector's passes (tens of thousands of small objects
    at once, none of which can form a cycle)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return action()
    finally:
        if enabled:
            gc.enable()


class StoredList(Sequence):
    """A list read from the stored row only when it is read: its length is known without it, a
    slice is read alone when the row can give one (a page of scope changes), anything else reads
    and decodes it all, once. `tail` follows the stored items (an active sprint's newer ones).
    `summary`, when set, is the per-day summary of all the items (planner.scope_changes.per_day
    takes it instead of counting them)."""

    __hash__ = None  # type: ignore[assignment]

    def __init__(
        self,
        count: int,
        load_all: Callable[[], list],
        load_range: Callable[[int, int], list] | None = None,
        tail: Sequence = (),
        summary: list[DaySummary] | None = None,
    ) -> None:
        self._count = count
        self._load_all = load_all
        self._load_range = load_range
        self._tail = list(tail)
        self._items: list | None = None
        self.summary = summary

    def _all(self) -> list:
        if self._items is None:
            stored = self._load_all() if self._count else []
            self._items = stored + self._tail
        return self._items

    def __len__(self) -> int:
        return self._count + len(self._tail)

    def __iter__(self) -> Iterator:
        return iter(self._all())

    def __getitem__(self, index):
        if isinstance(index, slice) and self._items is None:
            start, stop, step = index.indices(len(self))
            if step == 1:
                if start >= stop:
                    return []
                stored = []
                if start < self._count and self._load_range is not None:
                    stored = self._load_range(start, min(stop, self._count))
                elif start < self._count:
                    return self._all()[index]
                tail = self._tail[max(start - self._count, 0) : max(stop - self._count, 0)]
                return stored + tail
        return self._all()[index]

    def __eq__(self, other) -> bool:
        if isinstance(other, (list, tuple, StoredList)):
            return self._all() == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return repr(self._all())


# --- reading the big parts of a row when asked -------------------------------------------------


class _Row:
    """The text columns of one sprint's stored row, read only while the row is still the one the
    check accepted (same rules version, marks, inputs and `through`); None once replaced."""

    def __init__(self, session: Session, sprint_id: int, stored: Stored) -> None:
        self.session = session
        self.match = and_(
            StoredSeries.sprint_id == sprint_id,
            StoredSeries.rules_version == stored.rules_version,
            StoredSeries.last_event_id == stored.last_event_id,
            StoredSeries.last_title_id == stored.last_title_id,
            StoredSeries.last_story_id == stored.last_story_id,
            StoredSeries.inputs == stored.inputs,
            StoredSeries.through.is_(None)
            if stored.through is None
            else StoredSeries.through == stored.through,
        )
        self._stories: dict | None = None

    def changes(self, begin: int | None = None, length: int | None = None) -> str | None:
        """The scope-change lines (bytes begin.. of `length`, 0-based), or None."""
        column = StoredSeries.changes
        if begin is not None:
            column = func.substr(StoredSeries.changes, begin + 1, length, type_=LargeBinary)
        data = self.session.scalar(select(column).where(self.match))
        return None if data is None else bytes(data).decode("ascii")

    def stories(self) -> dict | None:
        if self._stories is None:
            text = self.session.scalar(select(StoredSeries.stories).where(self.match))
            self._stories = None if text is None else json.loads(text)
        return self._stories


def _decode_lines(text: str) -> list[ScopeChange]:
    return _without_gc(
        lambda: [_change(row) for row in json.loads(f"[{text.replace(chr(10), ',')}]")]
    )


def _stored_changes(meta: dict, row: _Row, fresh: Callable[[], SprintSeries]) -> StoredList:
    count, offsets, length = meta["count"], meta["offsets"], meta["length"]

    def load_all() -> list:
        text = row.changes()
        if text is None:  # replaced since the check: the fresh sweep's, up to `count`
            return list(fresh().scope_changes)[:count]
        return _decode_lines(text)

    def load_range(start: int, stop: int) -> list:
        first, last = start // CHUNK, (stop - 1) // CHUNK + 1
        begin = offsets[first]
        end = offsets[last] - 1 if last < len(offsets) else length
        text = row.changes(begin, end - begin)
        if text is None:
            return list(fresh().scope_changes)[start:stop]
        skip = start - first * CHUNK
        return _decode_lines(text)[skip : skip + stop - start]

    days = [DaySummary(date.fromisoformat(r[0]), *r[1:]) for r in meta["summary"]]
    return StoredList(count, load_all, load_range, (), days)


def _stored_stories(
    which: str, count: int, row: _Row, fresh: Callable[[], SprintSeries]
) -> StoredList:
    def load_all() -> list:
        data = row.stories()
        if data is None:
            return list(getattr(fresh(), f"{which}_stories"))
        return [StoryState(*s) for s in data[which]]

    return StoredList(count, load_all)


def _fresh_of(session: Session, project: Project, sprint: Sprint, now: datetime, calendar):
    """The fresh sweep of one sprint, computed at most once (a stored row replaced between the
    check and a later read of its parts falls back to it)."""
    memo: list[SprintSeries] = []

    def fresh() -> SprintSeries:
        if not memo:
            memo.append(
                load_series(session, project, [sprint], now=now, calendar=calendar)[sprint.id]
            )
        return memo[0]

    return fresh


def _load_closed(
    session: Session, project: Project, sprint: Sprint, stored: Stored, today: date, fresh
) -> SprintSeries:
    data = json.loads(stored.payload)
    row = _Row(session, sprint.id, stored)
    day_of = date.fromisoformat
    committed_count, final_count = data["stories"]
    return SprintSeries(
        sprint=sprint_info(sprint),
        days=[day_of(d) for d in data["days"]],
        moments=[_parse_at(m) for m in data["moments"]],
        committed_at=_parse_at(data["committed_at"]),
        today=today,
        committed=_load_totals(data["committed"]),
        per_day=[_load_totals(t) for t in data["per_day"]],
        scope_changes=_stored_changes(data["changes"], row, fresh),
        committed_stories=_stored_stories("committed", committed_count, row, fresh),
        final_stories=_stored_stories("final", final_count, row, fresh),
    )


# --- what a series was computed from -----------------------------------------------------------


def inputs_of(project: Project, calendar: Calendar, sprint: Sprint) -> str:
    """The fingerprint of what the sweep reads for `sprint` besides its stories' rows, events
    and titles."""
    last = sprint.end_date
    if sprint.closed_at is not None:
        last = max(last, local_date(sprint.closed_at, calendar.timezone))
    last = min(last, add_days(sprint.start_date, CHART_MAX_DAYS - 1))
    source = {
        "project": project.key,
        "timezone": calendar.timezone,
        "working_days": sorted(calendar.working_days),
        "holidays": sorted(
            d.isoformat() for d in calendar.holidays if sprint.start_date <= d <= last
        ),
        "state": sprint.state,
        "start": sprint.start_date.isoformat(),
        "end": sprint.end_date.isoformat(),
        "started_at": _at(sprint.started_at) if sprint.started_at else None,
        "closed_at": _at(sprint.closed_at) if sprint.closed_at else None,
    }
    text = json.dumps(source, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _ever_in(project: Project, sprint_id):
    """The ids of the stories ever in the sprint `sprint_id` (a column or a value): in it now,
    or moved into or out of it by an event (load_series reads the same stories)."""
    as_text = cast(sprint_id, String) if not isinstance(sprint_id, int) else str(sprint_id)
    moved = select(StoryEvent.story_id).where(
        StoryEvent.field == "sprint",
        or_(StoryEvent.from_value == as_text, StoryEvent.to_value == as_text),
    )
    if not isinstance(sprint_id, int):
        moved = moved.correlate(Sprint)
    ever = select(Story.id).where(
        Story.project_id == project.id,
        or_(Story.sprint_id == sprint_id, Story.id.in_(moved)),
    )
    return ever if isinstance(sprint_id, int) else ever.correlate(Sprint)


@dataclass(frozen=True)
class Stored:
    """A stored row as read (all None when there is none); plain columns, never a stale entity."""

    rules_version: int | None
    last_event_id: int | None
    last_title_id: int | None
    last_story_id: int | None
    inputs: str | None
    through: date | None
    payload: str | None
    state: str | None


@dataclass(frozen=True)
class Check:
    stored: Stored
    newer_event: bool  # an event newer than last_event_id on a story ever in the sprint
    newer_other: bool  # a newer title edit, or a newer story in the sprint


def _checks(session: Session, project: Project, sprints: Sequence[Sprint]) -> dict[int, Check]:
    """For each sprint: its stored row, and whether anything newer than the row concerns it.

    Two queries whatever the number of sprints: the rows, then the EXISTS checks with each row's
    marks as values, so the database plans each with the mark in hand (an event id above the
    mark is a short primary-key range) and reads no event older than the row."""
    active = {s.id for s in sprints if s.state == "active"}
    rows = session.execute(
        select(
            Sprint.id,
            StoredSeries.rules_version,
            StoredSeries.last_event_id,
            StoredSeries.last_title_id,
            StoredSeries.last_story_id,
            StoredSeries.inputs,
            StoredSeries.through,
            StoredSeries.payload,
            StoredSeries.state if active else literal(None),
        )
        .outerjoin(StoredSeries, StoredSeries.sprint_id == Sprint.id)
        .where(Sprint.id.in_([s.id for s in sprints]))
    ).all()
    stored = {row[0]: Stored(*row[1:]) for row in rows}
    checked = [
        i for i, row in stored.items() if row.payload is not None and row.last_title_id is not None
    ]
    flags: dict[int, tuple[bool, bool]] = {}
    if checked:
        # SQLite would look the rows up by their story (its index on story_id) and read every
        # event of the sprint's stories; `+ 0` leaves it the id range above the mark, empty when
        # nothing is newer (PostgreSQL plans that range by itself, from the mark's value).
        sqlite = session.get_bind().dialect.name == "sqlite"
        event_story = StoryEvent.story_id + 0 if sqlite else StoryEvent.story_id
        title_story = StoryTextChange.story_id + 0 if sqlite else StoryTextChange.story_id
        columns = []
        for i in checked:
            row, ever = stored[i], _ever_in(project, i)
            newer_event = (
                literal(False)
                if i in active  # an active sprint's newer events are swept, or rebuild it
                else exists().where(StoryEvent.id > row.last_event_id, event_story.in_(ever))
            )
            newer_title = exists().where(
                StoryTextChange.id > row.last_title_id,
                StoryTextChange.field == "title",
                title_story.in_(ever),
            )
            newer_story = (
                literal(False)
                if i in active  # an active sprint sweeps a story created since
                else exists().where(
                    Story.id > row.last_story_id,
                    Story.project_id == project.id,
                    Story.sprint_id == i,
                )
            )
            columns.extend([newer_event, or_(newer_title, newer_story)])
        answer = session.execute(select(*columns)).one()
        flags = {i: (bool(answer[2 * n]), bool(answer[2 * n + 1])) for n, i in enumerate(checked)}
    return {i: Check(row, *flags.get(i, (False, False))) for i, row in stored.items()}


def _marks(session: Session, project: Project, sprint_id: int) -> tuple[int, int, int]:
    """The highest event id, title edit id and story id of the stories ever in the sprint (read
    before the sweep: anything written meanwhile is newer and rebuilds the row next time)."""
    ever = _ever_in(project, sprint_id)
    last_event = (
        select(func.coalesce(func.max(StoryEvent.id), literal(0)))
        .where(StoryEvent.story_id.in_(ever))
        .scalar_subquery()
    )
    last_title = (
        select(func.coalesce(func.max(StoryTextChange.id), literal(0)))
        .where(StoryTextChange.field == "title", StoryTextChange.story_id.in_(ever))
        .scalar_subquery()
    )
    last_story = (
        select(func.coalesce(func.max(Story.id), literal(0)))
        .where(Story.id.in_(ever))
        .scalar_subquery()
    )
    row = session.execute(select(last_event, last_title, last_story)).one()
    return int(row[0]), int(row[1]), int(row[2])


def _usable(stored: Stored, check: Check, inputs: str, active: bool) -> bool:
    return (
        stored.payload is not None
        and stored.rules_version == RULES_VERSION
        and stored.inputs == inputs
        and stored.last_title_id is not None
        and not check.newer_other
        and (stored.state is not None) == active
        and (active or not check.newer_event)
    )


# --- reading -----------------------------------------------------------------------------------


def series_for_many(
    session: Session,
    project: Project,
    sprints: Sequence[Sprint],
    *,
    now: datetime | None = None,
    calendar: Calendar | None = None,
) -> dict[int, SprintSeries]:
    """Return each sprint's series, keyed by id in the order given: a closed sprint's from its
    stored row when that still matches, an active sprint's from its stored state and the events
    since, a planned one's from a sweep; storing what it computed (in `session`: the caller
    commits)."""
    if not sprints:
        return {}
    now = now or utcnow()
    calendar = calendar or calendar_of(session, project)
    today = local_date(now, calendar.timezone)
    kept = [s for s in sprints if s.state in ("closed", "active")]
    checks = _checks(session, project, kept) if kept else {}
    result: dict[int, SprintSeries] = {}
    to_store: list[tuple[Sprint, tuple[int, int, int], str]] = []
    for sprint in kept:
        check = checks[sprint.id]
        inputs = inputs_of(project, calendar, sprint)
        if sprint.state == "active":
            result[sprint.id] = _active(session, project, calendar, sprint, check, inputs, now)
        elif _usable(check.stored, check, inputs, active=False):
            fresh = _fresh_of(session, project, sprint, now, calendar)
            result[sprint.id] = _load_closed(session, project, sprint, check.stored, today, fresh)
        else:
            to_store.append((sprint, _marks(session, project, sprint.id), inputs))
    fresh = [s for s in sprints if s.id not in result]
    if fresh:
        result.update(load_series(session, project, fresh, now=now, calendar=calendar))
    if to_store:
        _store(
            session,
            [(s, marks, i, dump(result[s.id]), None, None) for s, marks, i in to_store],
            now,
        )
    return {s.id: result[s.id] for s in sprints}


def series_for(
    session: Session,
    project: Project,
    sprint: Sprint,
    *,
    now: datetime | None = None,
    calendar: Calendar | None = None,
) -> SprintSeries:
    """Return one sprint's series (series_for_many for one sprint)."""
    return series_for_many(session, project, [sprint], now=now, calendar=calendar)[sprint.id]


def _store(session: Session, rows: list[tuple], now: datetime) -> None:
    """Insert or replace the rows in one statement, in sprint id order (two readers computing the
    same sprints at once both succeed, the later one's row stays, and they never deadlock)."""
    values = [
        {
            "sprint_id": sprint.id,
            "rules_version": RULES_VERSION,
            "last_event_id": marks[0],
            "last_title_id": marks[1],
            "last_story_id": marks[2],
            "inputs": inputs,
            "computed_at": now,
            "payload": parts.payload,
            "changes": parts.changes,
            "stories": parts.stories,
            "state": state,
            "through": through,
        }
        for sprint, marks, inputs, parts, state, through in sorted(rows, key=lambda r: r[0].id)
    ]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(StoredSeries).values(values)
    excluded = statement.excluded
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[StoredSeries.sprint_id],
            set_={
                name: getattr(excluded, name)
                for name in (
                    "rules_version",
                    "last_event_id",
                    "last_title_id",
                    "last_story_id",
                    "inputs",
                    "computed_at",
                    "payload",
                    "changes",
                    "stories",
                    "state",
                    "through",
                )
            },
        )
    )


# --- an active sprint: the stored state and the events since ----------------------------------


def _decode(field: str, value: str | None):
    if value is None:
        return None
    return int(value) if field in _INT_FIELDS else value


@dataclass
class _Story:
    id: int
    key: str
    title: str
    created_at: datetime
    current: dict


def _stories(session: Session, project: Project, sprint_id: int) -> dict[int, _Story]:
    """The stories ever in the sprint, with their current values (as load_series reads them)."""
    rows = session.execute(
        select(
            Story.id,
            Story.number,
            Story.title,
            Story.created_at,
            Story.status,
            Story.points,
            Story.sprint_id,
            Stage.key,
            Story.role,
            Story.assignee_id,
        )
        .outerjoin(Stage, Stage.id == Story.stage_id)
        .where(Story.id.in_(_ever_in(project, sprint_id)))
        .order_by(Story.id)
    )
    return {
        r[0]: _Story(
            r[0], f"{project.key}-{r[1]}", r[2], r[3], dict(zip(FIELDS, r[4:], strict=True))
        )
        for r in rows
    }


def _events(session: Session, project: Project, sprint_id: int, since: datetime | None, ids=None):
    """Events (id, story id, at, field, old, new) of the stories ever in the sprint (or of `ids`),
    dated `since` or later (all when None), in the sweep's order."""
    query = select(
        StoryEvent.id,
        StoryEvent.story_id,
        StoryEvent.at,
        StoryEvent.field,
        StoryEvent.from_value,
        StoryEvent.to_value,
    )
    if ids is None:
        query = query.where(StoryEvent.story_id.in_(_ever_in(project, sprint_id)))
    else:
        query = query.where(StoryEvent.story_id.in_(ids))
    if since is not None:
        query = query.where(StoryEvent.at >= since)
    rows = session.execute(query.order_by(StoryEvent.at, StoryEvent.id))
    return [(i, s, at, f, _decode(f, old), _decode(f, new)) for i, s, at, f, old, new in rows]


def _past_dated(session, project, sprint_id: int, last_event_id: int, before: datetime) -> bool:
    """Is an event newer than `last_event_id` on a story ever in the sprint dated before T?"""
    return bool(
        session.scalar(
            select(
                exists().where(
                    StoryEvent.id > last_event_id,
                    StoryEvent.at < before,
                    StoryEvent.story_id.in_(_ever_in(project, sprint_id)),
                )
            )
        )
    )


@dataclass
class _Resume:
    """What the stored row gives the sweep: the state at T and the series before T."""

    since: datetime | None  # T; None: from the beginning
    settled: dict[int, dict[str, object]]  # story id -> {field: value set by an event before T}
    # story id -> {field: the value it had before T, from no event before T (its first event's
    # `from`, or the current value)}: a later first event with another `from` rebuilds
    initial: dict[int, dict[str, object]]
    committed: Totals | None
    per_day: list[Totals]
    scope_changes: Sequence[ScopeChange]
    committed_stories: Sequence[StoryState] | None
    final_stories: Sequence[StoryState] | None


_EMPTY = _Resume(None, {}, {}, None, [], [], None, None)


def _active(
    session: Session,
    project: Project,
    calendar: Calendar,
    sprint: Sprint,
    check: Check,
    inputs: str,
    now: datetime,
) -> SprintSeries:
    tz = calendar.timezone
    info = sprint_info(sprint)
    today = local_date(now, tz)
    snapshot = local_start_of(today, tz)  # the end of yesterday: the state stored this time
    stored = check.stored
    resume = _EMPTY
    if _usable(stored, check, inputs, active=True):
        since = local_midnight_after(stored.through, tz)
        if not _past_dated(session, project, sprint.id, stored.last_event_id, since):
            resume = _resumed(session, project, sprint, stored, since, now, calendar)
    store = resume.since is None or snapshot > resume.since
    marks = _marks(session, project, sprint.id) if store else None
    stories = _stories(session, project, sprint.id)
    run = _sweep_on(
        session, project, calendar, info, stories, resume, snapshot if store else None, today
    )
    if run is None:  # the state cannot take what is new (see _sweep_on): from the beginning
        resume = _EMPTY
        store = True
        marks = marks or _marks(session, project, sprint.id)
        stories = _stories(session, project, sprint.id)
        run = _sweep_on(session, project, calendar, info, stories, resume, snapshot, today)
    series, kept = run
    if store and kept is not None:
        state, parts = kept
        through = add_days(today, -1)
        _store(session, [(sprint, marks, inputs, parts, state, through)], now)
    return series


def _resumed(session, project, sprint, stored: Stored, since, now, calendar) -> _Resume:
    data = json.loads(stored.payload)
    row = _Row(session, sprint.id, stored)
    fresh = _fresh_of(session, project, sprint, now, calendar)
    committed_count, final_count = data["stories"]
    state = json.loads(stored.state)
    return _Resume(
        since=since,
        settled={int(k): v for k, v in state["settled"].items()},
        initial={int(k): v for k, v in state["initial"].items()},
        committed=None if data["committed"] is None else _load_totals(data["committed"]),
        per_day=[_load_totals(t) for t in data["per_day"]],
        scope_changes=_stored_changes(data["changes"], row, fresh),
        committed_stories=None
        if committed_count is None
        else _stored_stories("committed", committed_count, row, fresh),
        final_stories=None
        if final_count is None
        else _stored_stories("final", final_count, row, fresh),
    )


def _sweep_on(
    session: Session,
    project: Project,
    calendar: Calendar,
    info,
    stories: dict[int, _Story],
    resume: _Resume,
    snapshot: datetime | None,
    today: date,
):
    """metrics.sweep for one sprint, from the state at `resume.since` (the beginning when None):
    the same timeline, the same moments, the same rules. Return (series, (state, parts) at
    `snapshot` or None), or None when the stored state cannot take what is new: a story newly
    ever in the sprint that was in it before T, or a story of the state that is gone."""
    since = resume.since
    sprint_id = info.id
    # Only the stories read above: a story moved in and committed between the two reads is left
    # to the next read (its event is above the marks, so that read takes it).
    events = [e for e in _events(session, project, sprint_id, since) if e[1] in stories]
    if since is not None:
        if set(resume.settled) - set(stories):
            return None
        newcomers = [i for i in stories if i not in resume.settled]
        early = _events(session, project, sprint_id, None, newcomers) if newcomers else []
        early = [e for e in early if e[2] < since]
    else:
        newcomers, early = list(stories), []

    # Each story's values at T: set by its last event before T, else its first event's `from`,
    # else its current value.
    settled = {i: dict(resume.settled.get(i, {})) for i in stories}
    for _, story_id, _, field, _, new in early:
        settled[story_id][field] = new
    first_old: dict[tuple[int, str], object] = {}
    for _, story_id, _, field, old, _ in events:
        first_old.setdefault((story_id, field), old)
    values: dict[int, dict] = {}
    for i, s in stories.items():
        initial = resume.initial.get(i)
        if initial is None:  # from the beginning, or a story new to the state
            values[i] = {
                f: settled[i][f] if f in settled[i] else first_old.get((i, f), s.current[f])
                for f in FIELDS
            }
            continue
        # A value no event before T set is its first event's `from`, else the current value:
        # if that is not the one the stored series was computed with, rebuild.
        current = s.current
        for f, value in initial.items():
            if first_old.get((i, f), current[f]) != value:
                return None
        values[i] = {**initial, **settled[i]}
    exists_ = {i for i, s in stories.items() if since is not None and s.created_at < since}
    if since is not None:
        for i in newcomers:
            if i in exists_ and values[i]["sprint"] == sprint_id:
                return None  # in the sprint before T, and not in the stored state: rebuild

    days = sprint_days(calendar, info)
    moments = [day_moment(calendar, info, d) for d in days]
    committed_at = commitment_moment(calendar, info, days)
    running = RunningTotals()
    for i in exists_:
        if values[i]["sprint"] == sprint_id:
            running.add(i, values[i], +1)

    committed = resume.committed
    per_day = list(resume.per_day)
    committed_stories = resume.committed_stories
    final_stories = resume.final_stories
    changes_after: list[ScopeChange] = []

    def state_of(i: int) -> StoryState:
        v, s = values[i], stories[i]
        return StoryState(
            i,
            s.key,
            s.title,
            v["status"],
            v["points"],
            v["sprint"],
            v["stage"],
            v["role"],
            v["assignee"],
        )

    def note(sprint, story_id, at, change, points) -> None:
        if sprint != sprint_id or at < committed_at or not moments or at >= moments[-1]:
            return
        index = bisect.bisect_right(moments, at)
        changes_after.append(ScopeChange(days[index], stories[story_id].key, change, points, at))

    timeline = [
        (s.created_at, 0, i, None)
        for i, s in stories.items()
        if since is None or s.created_at >= since
    ]
    timeline.extend((e[2], 1, e[1], e) for e in events)
    timeline.sort(key=lambda item: (item[0], item[1]))

    marks = [(committed_at, 0, -1)] + [(m, 1, index) for index, m in enumerate(moments)]
    if since is not None:
        marks = [m for m in marks if m[0] >= since]
    if snapshot is not None:
        marks.append((snapshot, -1, -1))
    marks.sort(key=lambda m: (m[0], m[1]))

    kept = None
    position = 0
    for moment, order, index in marks:
        while position < len(timeline) and timeline[position][0] < moment:
            at, kind, i, event = timeline[position]
            position += 1
            v = values[i]
            if kind == 0:
                exists_.add(i)
                if v["sprint"] == sprint_id:
                    running.add(i, v, +1)
                note(v["sprint"], i, at, "added", v["points"] or 0)
                continue
            field, new = event[3], event[5]
            settled[i][field] = new
            if i not in exists_:
                v[field] = new
                continue
            old_sprint, old_points = v["sprint"], v["points"] or 0
            if old_sprint == sprint_id:
                running.add(i, v, -1)
            v[field] = new
            if v["sprint"] == sprint_id:
                running.add(i, v, +1)
            if field == "sprint":
                note(old_sprint, i, at, "removed", -old_points)
                note(v["sprint"], i, at, "added", v["points"] or 0)
            elif field == "points" and (v["points"] or 0) != old_points:
                note(v["sprint"], i, at, "re-estimated", (v["points"] or 0) - old_points)
        if order == -1:
            kept = _kept(
                settled,
                values,
                resume,
                committed,
                per_day,
                changes_after,
                committed_stories,
                final_stories,
                days,
                moments,
                committed_at,
            )
        elif order == 0:
            committed = running.totals()
            committed_stories = [state_of(i) for i in sorted(running.members)]
        else:
            per_day.append(running.totals())
            if index == len(days) - 1:
                final_stories = [state_of(i) for i in sorted(running.members)]
    if not days:
        final_stories = list(committed_stories or [])

    scope_changes = resume.scope_changes
    if isinstance(scope_changes, StoredList):
        # Read through the stored list itself: it keeps what it decoded (storing the new state
        # above has read it all, and replaced the row it reads from).
        stored = scope_changes
        scope_changes = StoredList(
            len(stored),
            lambda: list(stored),
            lambda start, stop: list(stored[start:stop]),
            changes_after,
            _merged_summary(stored.summary, changes_after),
        )
    else:
        scope_changes = list(scope_changes) + changes_after
    series = SprintSeries(
        sprint=info,
        days=days,
        moments=moments,
        committed_at=committed_at,
        today=today,
        committed=committed or Totals(),
        per_day=per_day,
        scope_changes=scope_changes,
        committed_stories=committed_stories if committed_stories is not None else [],
        final_stories=final_stories if final_stories is not None else [],
    )
    return series, kept


def _merged_summary(stored: list[DaySummary] | None, tail: Sequence[ScopeChange]):
    rows = {
        d.day.isoformat(): [
            d.added,
            d.removed,
            d.re_estimated,
            d.points_added,
            d.points_removed,
            d.points_re_estimated,
        ]
        for d in stored or []
    }
    for day, *counts in _summary_rows(tail):
        rows[day] = [a + b for a, b in zip(rows.get(day, [0] * 6), counts, strict=True)]
    return [DaySummary(date.fromisoformat(day), *rows[day]) for day in sorted(rows)]


def _kept(
    settled,
    values,
    resume,
    committed,
    per_day,
    changes_after,
    committed_stories,
    final_stories,
    days,
    moments,
    committed_at,
):
    """The state and the series' parts at the snapshot moment, to store."""
    state = json.dumps(
        {
            "settled": {str(i): dict(fields) for i, fields in settled.items()},
            "initial": {
                str(i): {f: v[f] for f in FIELDS if f not in settled[i]} for i, v in values.items()
            },
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )
    parts = dump_parts(
        days=days,
        moments=moments,
        committed_at=committed_at,
        committed=committed,
        per_day=list(per_day),
        scope_changes=list(resume.scope_changes) + list(changes_after),
        committed_stories=None if committed_stories is None else list(committed_stories),
        final_stories=None if final_stories is None else list(final_stories),
    )
    return state, parts
