"""A closed sprint's series, computed once and stored (docs/rules.md, "Stored series").

The rules freeze a closed sprint's numbers at its close (events at or after `closed_at` never
count), so its series is computed by the sweep once, stored in `sprint_series` with what it was
computed from, and read back afterwards. A stored row is used only while it still matches:

- `rules_version` is RULES_VERSION (bumped whenever planner.metrics' rules change);
- `last_event_id` is still the highest story_event id of the stories ever in the sprint (in it now,
  or moved into or out of it by an event), so any event written on them since (an import adding
  history, say) rebuilds it;
- `inputs` is still the fingerprint of everything else the sweep reads for that sprint: the
  sprint's dates, `started_at` and `closed_at`, the project's key, timezone and working weekdays,
  the holidays among the sprint's possible days, and the last title edit of its stories (the
  stories at the commitment and at the close carry their titles).

The sprint's name and goal and "today" are not stored: they are taken from the sprint row and the
clock at each read, as the sweep does. Planned and active sprints are never stored.

The check is one query for any number of sprints (plus the calendar's holidays), whatever their
size; a missing or outdated row costs one sweep (as without storing) and one upsert, which the
caller commits.
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import String, cast, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from planner.domain.history import calendar_of, load_series, sprint_info
from planner.metrics import (
    CHART_MAX_DAYS,
    Calendar,
    ScopeChange,
    SprintSeries,
    StoryState,
    Totals,
)
from planner.models import Project, Sprint, StoredSeries, Story, StoryEvent, StoryTextChange
from planner.timeutil import add_days, local_date, utcnow

# The version of the sprint-chart rules the stored series were computed by. Bump it with any change
# to planner.metrics (or to what planner.domain.history feeds it) that can move a number: every
# stored series is then rebuilt on its next read.
RULES_VERSION = 1


# --- the payload: exactly what the sweep returned, losslessly ---------------------------------


def _at(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _totals(t: Totals) -> list:
    return [t.scope_points, t.scope_stories, t.done_points, t.done_stories, list(t.by_status)]


def _state(s: StoryState) -> list:
    return [s.id, s.key, s.title, s.status, s.points, s.sprint, s.stage, s.role, s.assignee]


def dump(series: SprintSeries) -> str:
    """Serialise a sprint's series (all but its SprintInfo and today) as compact JSON."""
    return json.dumps(
        {
            "days": [d.isoformat() for d in series.days],
            "moments": [_at(m) for m in series.moments],
            "committed_at": _at(series.committed_at),
            "committed": _totals(series.committed),
            "per_day": [_totals(t) for t in series.per_day],
            "scope_changes": [
                [c.day.isoformat(), c.story, c.change, c.points, _at(c.at)]
                for c in series.scope_changes
            ],
            "committed_stories": [_state(s) for s in series.committed_stories],
            "final_stories": [_state(s) for s in series.final_stories],
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


def _parse_at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _load_totals(row: list) -> Totals:
    return Totals(row[0], row[1], row[2], row[3], tuple(row[4]))


def load(payload: str, sprint: Sprint, today: date) -> SprintSeries:
    """Rebuild the series `dump` wrote, for `sprint` as it is now, seen on `today`."""
    # Tens of thousands of small objects at once: without the cyclic collector's passes over
    # everything else alive in the process (none of these objects can form a cycle).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _load(payload, sprint, today)
    finally:
        if enabled:
            gc.enable()


def _load(payload: str, sprint: Sprint, today: date) -> SprintSeries:
    data = json.loads(payload)
    day_of = date.fromisoformat
    return SprintSeries(
        sprint=sprint_info(sprint),
        days=[day_of(d) for d in data["days"]],
        moments=[_parse_at(m) for m in data["moments"]],
        committed_at=_parse_at(data["committed_at"]),
        today=today,
        committed=_load_totals(data["committed"]),
        per_day=[_load_totals(t) for t in data["per_day"]],
        scope_changes=[
            ScopeChange(day_of(day), story, change, points, _parse_at(at))
            for day, story, change, points, at in data["scope_changes"]
        ],
        committed_stories=[StoryState(*s) for s in data["committed_stories"]],
        final_stories=[StoryState(*s) for s in data["final_stories"]],
    )


# --- what a series was computed from -----------------------------------------------------------


def inputs_of(project: Project, calendar: Calendar, sprint: Sprint, last_title_id: int) -> str:
    """The fingerprint of what the sweep reads for `sprint` besides its stories' events."""
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
        "start": sprint.start_date.isoformat(),
        "end": sprint.end_date.isoformat(),
        "started_at": _at(sprint.started_at) if sprint.started_at else None,
        "closed_at": _at(sprint.closed_at) if sprint.closed_at else None,
        "last_title_id": last_title_id,
    }
    text = json.dumps(source, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _ever_in(project: Project, sprint_id):
    """The ids of the stories ever in the sprint `sprint_id` (a column): in it now, or moved into
    or out of it by an event (load_series reads the same stories)."""
    as_text = cast(sprint_id, String)
    moved = select(StoryEvent.story_id).where(
        StoryEvent.field == "sprint",
        or_(StoryEvent.from_value == as_text, StoryEvent.to_value == as_text),
    )
    return select(Story.id).where(
        Story.project_id == project.id,
        or_(Story.sprint_id == sprint_id, Story.id.in_(moved)),
    )


def _sources(session: Session, project: Project, ids: Sequence[int]) -> dict[int, tuple]:
    """For each sprint id: (last event id, last title edit id, the stored row), in one query."""
    ever = _ever_in(project, Sprint.id)
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
    rows = session.execute(
        select(
            Sprint.id,
            last_event,
            last_title,
            StoredSeries.rules_version,
            StoredSeries.last_event_id,
            StoredSeries.inputs,
            StoredSeries.payload,
        )
        .outerjoin(StoredSeries, StoredSeries.sprint_id == Sprint.id)
        .where(Sprint.id.in_(ids))
    ).all()
    return {row[0]: (row[1], row[2], Stored(*row[3:])) for row in rows}


@dataclass(frozen=True)
class Stored:
    """A stored row as read (all None when there is none); plain columns, never a stale entity."""

    rules_version: int | None
    last_event_id: int | None
    inputs: str | None
    payload: str | None


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
    stored row when that still matches, every other from one sweep, storing the closed ones it
    computed (in `session`: the caller commits)."""
    if not sprints:
        return {}
    now = now or utcnow()
    calendar = calendar or calendar_of(session, project)
    today = local_date(now, calendar.timezone)
    closed = [s for s in sprints if s.state == "closed"]
    sources = _sources(session, project, [s.id for s in closed]) if closed else {}
    result: dict[int, SprintSeries] = {}
    to_store: list[tuple[Sprint, int, str]] = []
    for sprint in closed:
        last_event, last_title, stored = sources[sprint.id]
        inputs = inputs_of(project, calendar, sprint, last_title)
        if (
            stored.payload is not None
            and stored.rules_version == RULES_VERSION
            and stored.last_event_id == last_event
            and stored.inputs == inputs
        ):
            result[sprint.id] = load(stored.payload, sprint, today)
        else:
            to_store.append((sprint, last_event, inputs))
    fresh = [s for s in sprints if s.id not in result]
    if fresh:
        result.update(load_series(session, project, fresh, now=now, calendar=calendar))
    if to_store:
        _store(session, [(s, e, i, dump(result[s.id])) for s, e, i in to_store], now)
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


def _store(session: Session, rows: list[tuple[Sprint, int, str, str]], now: datetime) -> None:
    """Insert or replace the rows in one statement, in sprint id order (two readers computing the
    same sprints at once both succeed, the later one's row stays, and they never deadlock)."""
    values = [
        {
            "sprint_id": sprint.id,
            "rules_version": RULES_VERSION,
            "last_event_id": last_event,
            "inputs": inputs,
            "computed_at": now,
            "payload": payload,
        }
        for sprint, last_event, inputs, payload in sorted(rows, key=lambda r: r[0].id)
    ]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(StoredSeries).values(values)
    excluded = statement.excluded
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[StoredSeries.sprint_id],
            set_={
                "rules_version": excluded.rules_version,
                "last_event_id": excluded.last_event_id,
                "inputs": excluded.inputs,
                "computed_at": excluded.computed_at,
                "payload": excluded.payload,
            },
        )
    )
