"""A big project for the web benchmark, as planner's own interchange document (not a test).

`big_document(today)` describes project BIG: 2,000 stories and 50,000 story events in all, with
one closed sprint (800 stories), the active sprint running today (200 stories) and 1,000 stories
in the backlog. It is imported through planner's importer (planner.interchange.importer), like
tests/benchmarks/burndown.py's `document()`, on which it is modelled.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from tests.benchmarks.burndown import POINTS_CYCLE, STATUS_CYCLE

KEY = "BIG"
CLOSED, ACTIVE = "Sprint 1", "Sprint 2"
OWNER = "bench@example.com"


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _history(
    n: int, sprint: str | None, events: int, begin: datetime, end: datetime, by: str
) -> tuple[list[dict], str, int]:
    """`events` events for story `n` between `begin` and `end`: a sprint assignment (when in a
    sprint) before `begin`, then status and points changes in turn (points only in the backlog).
    Returns the history, the final status and the final points."""
    history: list[dict] = []
    if sprint is not None:
        history.append(
            {
                "at": _stamp(begin - timedelta(hours=1)),
                "field": "sprint",
                "from": None,
                "to": sprint,
                "by": by,
            }
        )
    status, points = "todo", 3
    window = (end - begin).total_seconds() - 120
    changes = events - len(history)
    for k in range(changes):
        at = begin + timedelta(seconds=window * (k + 1) / (changes + 1) + n % 60)
        if sprint is not None and k % 2 == 0:
            new = STATUS_CYCLE[(STATUS_CYCLE.index(status) + 1) % 4]
            history.append(
                {"at": _stamp(at), "field": "status", "from": status, "to": new, "by": by}
            )
            status = new
        else:
            new = POINTS_CYCLE[(POINTS_CYCLE.index(points) + 1) % len(POINTS_CYCLE)]
            history.append(
                {"at": _stamp(at), "field": "points", "from": points, "to": new, "by": by}
            )
            points = new
    return history, status, points


def sprint_dates(today: date) -> dict[str, date]:
    """The active sprint starts on a Monday so that `today` is one of its days 2..8; the closed
    sprint is the two weeks before it."""
    monday = today - timedelta(days=today.weekday())
    active = monday - timedelta(days=7) if today.weekday() < 2 else monday
    return {
        "closed_start": active - timedelta(days=14),
        "closed_end": active - timedelta(days=3),
        "active_start": active,
        "active_end": active + timedelta(days=11),
    }


def big_document(
    now: datetime,
    *,
    stories: int = 2000,
    closed: int = 800,
    active: int = 200,
    events: int = 50_000,
    members: tuple[tuple[str, str], ...] = (("maya@example.com", "Maya Okafor"),),
) -> dict:
    """The BIG project as an interchange document, dated so its active sprint runs at `now`.

    `closed` stories are in the closed sprint and `active` in the active one, the rest in the
    backlog; the events are spread so that there are `events` in all (sprint stories get most).
    `members` (email, name) join with manage access besides the owner bench@example.com."""
    if not 0 <= closed + active <= stories:
        raise ValueError("closed + active stories must fit in the stories")
    d = sprint_dates(now.date())
    backlog = stories - closed - active
    # Backlog stories get a quarter of a sprint story's events (at least 1 each).
    per_sprint_story = max(2, (4 * events) // (4 * (closed + active) + backlog or 1))
    per_backlog = max(1, (events - per_sprint_story * (closed + active)) // max(backlog, 1))
    extra = events - per_sprint_story * (closed + active) - per_backlog * backlog
    closed_started = datetime.combine(d["closed_start"], time(9), tzinfo=UTC)
    closed_at = datetime.combine(d["closed_end"], time(16), tzinfo=UTC)
    active_started = datetime.combine(d["active_start"], time(9), tzinfo=UTC)
    created = closed_started - timedelta(days=30)
    items = []
    for n in range(1, stories + 1):
        if n <= closed:
            sprint, count, begin, end = CLOSED, per_sprint_story, closed_started, closed_at
        elif n <= closed + active:
            sprint, count = ACTIVE, per_sprint_story
            begin, end = active_started, now - timedelta(minutes=30)
        else:
            sprint, count = None, per_backlog
            begin, end = created + timedelta(days=1), closed_started
        if extra > 0:  # what the division left over, one more event for the first stories
            count, extra = count + 1, extra - 1
        history, status, points = _history(n, sprint, count, begin, end, OWNER)
        item = {
            "key": f"{KEY}-{n}",
            "title": f"Big story {n}",
            "type": "feature",
            "status": status,
            "points": points,
            "rank": n,
            "created_at": _stamp(created),
            "history": history,
        }
        if sprint is not None:
            item["sprint"] = sprint
        items.append(item)
    return {
        "format": "planner-export",
        "version": 1,
        "project": {
            "key": KEY,
            "name": "Big benchmark project",
            "timezone": "Europe/Berlin",
            "working_days": [1, 2, 3, 4, 5],
        },
        "members": [
            {"email": OWNER, "name": "Bench", "access": "manage", "roles": ["ml_engineer"]},
            *(
                {"email": email, "name": name, "access": "manage", "roles": ["ml_engineer"]}
                for email, name in members
            ),
        ],
        "sprints": [
            {
                "name": CLOSED,
                "start": d["closed_start"].isoformat(),
                "end": d["closed_end"].isoformat(),
                "state": "closed",
                "started_at": _stamp(closed_started),
                "closed_at": _stamp(closed_at),
            },
            {
                "name": ACTIVE,
                "start": d["active_start"].isoformat(),
                "end": d["active_end"].isoformat(),
                "state": "active",
                "started_at": _stamp(active_started),
            },
        ],
        "stories": items,
    }


def count_events(document: dict) -> int:
    return sum(len(story["history"]) for story in document["stories"])
