"""Dependencies between stories: "FRAUD-7 is blocked by FRAUD-4", across projects too.

A dependency is refused when it would make a story block itself, directly or through others
(data access → labels → features → model is a chain; a chain that comes back is a mistake). Only
an unfinished blocker blocks: a done one is shown struck through. People see the keys of stories in
projects they belong to; another project's story is "a story you cannot see", so a dependency
never tells an outsider what another project holds.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import (
    Integer,
    String,
    bindparam,
    case,
    cast,
    delete,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from planner import pagecache
from planner.domain import NotFoundError, ValidationError
from planner.domain.access import story_access
from planner.domain.checklists import Progress, progress_of
from planner.models import (
    Account,
    ChecklistItem,
    Label,
    Membership,
    Project,
    Sprint,
    Story,
    StoryDependency,
    StoryEvent,
    story_label,
)
from planner.models.base import UTCDateTime

# The story at the other end of a dependency. Made once: building a query with a fresh alias
# costs more than running it (SQLAlchemy memoizes each alias's adapted columns).
_OTHER = aliased(Story, name="other_story")

BLOCKERS_PER_STORY = 50  # more than anyone tracks by hand; a bound for the pages that list them
HIDDEN = "a story you cannot see"


@dataclass(frozen=True)
class Link:
    """One story at the other end of a dependency, as the viewer may see it."""

    story_id: int
    key: str | None  # None when the viewer is not a member of its project
    project_key: str | None
    number: int | None
    title: str | None
    status: str
    sprint_id: int | None

    @property
    def done(self) -> bool:
        return self.status == "done"

    @property
    def visible(self) -> bool:
        return self.key is not None

    @property
    def label(self) -> str:
        return self.key or HIDDEN


@dataclass(frozen=True)
class Dependencies:
    """A story's dependencies: what blocks it and what it blocks, each by key."""

    blocked_by: list[Link]
    blocks: list[Link]

    @property
    def open_blockers(self) -> list[Link]:
        return [link for link in self.blocked_by if not link.done]


def visible_project_ids(session: Session, account: Account) -> set[int]:
    """The ids of the projects the account is a member of."""
    return set(
        session.scalars(select(Membership.project_id).where(Membership.account_id == account.id))
    )


def story_you_can_see(session: Session, account: Account, key: str) -> Story:
    """Return the story with this key in a project the account belongs to, or raise
    ValidationError: a story it cannot see gets the same message as one that does not exist."""
    text = " ".join(str(key or "").split()).upper()
    if not text:
        raise ValidationError({"blocker": "Enter the key of the blocking story, like FRAUD-4."})
    try:
        _, story = story_access(session, account, text)
    except NotFoundError:
        raise ValidationError({"blocker": f"No story {text[:40]} that you can see."}) from None
    return story


def _key_of(session: Session, story: Story) -> str:
    return story.key_in(session.scalar(select(Project.key).where(Project.id == story.project_id)))


def _path_to(session: Session, start: int, goal: int) -> list[int] | None:
    """The ids along a chain of "blocks" from `start` to `goal`, or None: one query per step
    of the chain, each for every story reached at that step."""
    came_from: dict[int, int | None] = {start: None}
    frontier = {start}
    while frontier:
        rows = session.execute(
            select(StoryDependency.blocker_id, StoryDependency.blocked_id).where(
                StoryDependency.blocker_id.in_(frontier)
            )
        ).all()
        frontier = set()
        for blocker_id, blocked_id in rows:
            if blocked_id in came_from:
                continue
            came_from[blocked_id] = blocker_id
            if blocked_id == goal:
                path = [goal]
                while (previous := came_from[path[-1]]) is not None:
                    path.append(previous)
                return list(reversed(path))
            frontier.add(blocked_id)
    return None


def _keys(session: Session, ids: Iterable[int], account: Account) -> dict[int, str]:
    visible = visible_project_ids(session, account)
    rows = session.execute(
        select(Story.id, Story.number, Story.project_id, Project.key)
        .join(Project, Project.id == Story.project_id)
        .where(Story.id.in_(list(ids)))
    ).all()
    return {
        sid: f"{pkey}-{number}" if project_id in visible else HIDDEN
        for sid, number, project_id, pkey in rows
    }


def add_blocker(
    session: Session, blocked: Story, blocker: Story, *, by: Account, now: datetime
) -> StoryDependency:
    """Record that `blocker` blocks `blocked`; refuse a story blocking itself, a dependency that
    already exists, too many blockers, and a cycle (saying which chain it would close)."""
    blocked_key = _key_of(session, blocked)
    blocker_key = _key_of(session, blocker)
    if blocker.id == blocked.id:
        raise ValidationError({"blocker": f"{blocked_key} cannot be blocked by itself."})
    existing = session.get(StoryDependency, (blocker.id, blocked.id))
    if existing is not None:
        raise ValidationError({"blocker": f"{blocked_key} is already blocked by {blocker_key}."})
    count = session.scalar(
        select(func.count())
        .select_from(StoryDependency)
        .where(StoryDependency.blocked_id == blocked.id)
    )
    if count >= BLOCKERS_PER_STORY:
        raise ValidationError(
            {"blocker": f"{blocked_key} already has {count} blockers, the most a story can have."}
        )
    chain = _path_to(session, blocked.id, blocker.id)
    if chain is not None:
        keys = _keys(session, chain, by)
        words = " → ".join(keys[i] for i in chain)
        raise ValidationError(
            {
                "blocker": f"{blocker_key} cannot block {blocked_key}: {blocked_key} already "
                f"blocks {blocker_key} ({words}), so neither could ever start."
            }
        )
    dependency = StoryDependency(
        blocker_id=blocker.id, blocked_id=blocked.id, created_at=now, created_by_id=by.id
    )
    session.add(dependency)
    session.flush()
    return dependency


def remove_blocker(session: Session, blocked: Story, blocker_id: int) -> None:
    """Forget that the story `blocker_id` blocks `blocked`; raise NotFoundError when it does not."""
    gone = session.execute(
        delete(StoryDependency).where(
            StoryDependency.blocked_id == blocked.id, StoryDependency.blocker_id == blocker_id
        )
    ).rowcount
    if not gone:
        raise NotFoundError("No such dependency.")


def _seen_by(viewer: Account, story):
    """An outer join condition: the viewer's membership in `story`'s project, if any."""
    return (Membership.project_id == story.project_id) & (Membership.account_id == viewer.id)


def _links(rows) -> list[Link]:
    """Links from (story, project key, the viewer's membership id or None) rows."""
    links = []
    for story, project_key, member in rows:
        seen = member is not None
        pagecache.shows_story_of(story.project_id)
        links.append(
            Link(
                story_id=story.id,
                key=story.key_in(project_key) if seen else None,
                project_key=project_key if seen else None,
                number=story.number if seen else None,
                title=story.title if seen else None,
                status=story.status,
                sprint_id=story.sprint_id,
            )
        )
    return links


def _other_end(viewer: Account, other, *, theirs, ours, story_ids: Sequence[int]):
    """Select (story at the other end, its project key, the viewer's membership id, our story's
    id) for the dependencies of `story_ids`, unfinished first."""
    return (
        select(other, Project.key, Membership.id, ours)
        .select_from(StoryDependency)
        .join(other, other.id == theirs)
        .join(Project, Project.id == other.project_id)
        .outerjoin(Membership, _seen_by(viewer, other))
        .where(ours.in_(list(story_ids)))
        .order_by((other.status == "done"), Project.key, other.number)
    )


def dependencies_of(session: Session, story: Story, viewer: Account) -> Dependencies:
    """The story's blockers and the stories it blocks, unfinished first, in one query."""
    other = _OTHER
    rows = session.execute(
        select(other, Project.key, Membership.id, StoryDependency.blocked_id)
        .select_from(StoryDependency)
        .join(
            other,
            ((other.id == StoryDependency.blocker_id) & (StoryDependency.blocked_id == story.id))
            | ((other.id == StoryDependency.blocked_id) & (StoryDependency.blocker_id == story.id)),
        )
        .join(Project, Project.id == other.project_id)
        .outerjoin(Membership, _seen_by(viewer, other))
        .order_by((other.status == "done"), Project.key, other.number)
    ).all()
    return Dependencies(
        _links(row[:3] for row in rows if row[3] == story.id),
        _links(row[:3] for row in rows if row[3] != story.id),
    )


def blockers_of(
    session: Session, story_ids: Sequence[int], viewer: Account
) -> dict[int, list[Link]]:
    """Each story's blockers (done ones last), for many stories at once: one query, whatever
    the number of stories and dependencies (the board and the sprint plan use it)."""
    if not story_ids:
        return {}
    other = _OTHER
    rows = session.execute(
        _other_end(
            viewer,
            other,
            theirs=StoryDependency.blocker_id,
            ours=StoryDependency.blocked_id,
            story_ids=story_ids,
        )
    ).all()
    found: dict[int, list[Link]] = defaultdict(list)
    for story, project_key, member, blocked_id in rows:
        found[blocked_id].extend(_links([(story, project_key, member)]))
    return dict(found)


def plan_warnings(
    session: Session, sprint: Sprint, stories: Sequence[Story], project_key: str, viewer: Account
) -> list[str]:
    """Say which stories of the sprint wait for an unfinished blocker that is planned in a later
    sprint, or in no sprint (the backlog, or a closed sprint it was left in)."""
    blockers = blockers_of(session, [s.id for s in stories], viewer)
    sprint_ids = {link.sprint_id for links in blockers.values() for link in links}
    sprint_ids.discard(None)
    sprints = {
        row.id: row for row in session.scalars(select(Sprint).where(Sprint.id.in_(sprint_ids)))
    }
    warnings = []
    for story in stories:
        key = story.key_in(project_key)
        for link in blockers.get(story.id, []):
            if link.done:
                continue
            planned = sprints.get(link.sprint_id) if link.sprint_id else None
            if planned is None or planned.state == "closed":
                warnings.append(f"{key} is blocked by {link.label}, which is not planned yet.")
            elif planned.id != sprint.id and planned.start_date > sprint.start_date:
                warnings.append(
                    f"{key} is planned before {link.label}, which blocks it "
                    f"({link.label} is in {planned.name if link.visible else 'a later sprint'})."
                )
    return warnings


@dataclass(frozen=True)
class CardParts:
    """What a board card shows besides the story itself: its blockers and checklist progress."""

    blockers: list[Link]
    checklist: Progress | None

    @property
    def open_blockers(self) -> list[Link]:
        return [link for link in self.blockers if not link.done]

    @property
    def blocked_by_label(self) -> str:
        """ "FRAUD-2", "FRAUD-2, FRAUD-5" or "FRAUD-2 and 3 more", for unfinished blockers."""
        names = [link.label for link in self.open_blockers]
        if len(names) <= 2:
            return ", ".join(names)
        return f"{names[0]} and {len(names) - 1} more"


def card_parts(session: Session, story_ids: Sequence[int], viewer: Account) -> dict[int, CardParts]:
    """Blockers and checklist progress for many cards in two queries, whatever their number."""
    blockers = blockers_of(session, story_ids, viewer)
    progress = progress_of(session, story_ids)
    return {
        story_id: CardParts(blockers.get(story_id, []), progress.get(story_id))
        for story_id in set(blockers) | set(progress)
    }


class HistoryEntry(NamedTuple):
    """One of a story's history events, as the API shows it (the columns of a StoryEvent)."""

    at: datetime
    field: str
    from_value: str | None
    to_value: str | None
    by_id: int | None


@dataclass(frozen=True)
class StoryParts:
    """What one story's own answer shows besides its columns: its history (oldest first), its
    label names (A to Z), its dependencies (unfinished first) and its checklist progress."""

    history: list[HistoryEntry]
    labels: list[str]
    dependencies: Dependencies
    checklist: Progress


# The rows of story_parts' one query, one kind after the other; each kind fills the columns it
# needs and leaves the others NULL (typed, so that both databases agree on the union's types):
#   column        event        label  dependency (its other end)   checklist
#   sort_text                  name   project key
#   sort_number   id                  number
#   text_1..3     field, from, to     title, status
#   number_1      by_id               story id                     items
#   number_2                          the viewer's membership id   items done
#   number_3..5                       sprint id, blocked_id, project id
_EVENT, _LABEL, _DEPENDENCY, _CHECKLIST = range(4)


def _none(type_):
    return cast(null(), type_)


@functools.cache
def _story_parts_query():
    """story_parts' query, built once: building it costs more than running it."""
    story_id, viewer_id = (
        bindparam("story_id", type_=Integer),
        bindparam("viewer_id", type_=Integer),
    )
    other = _OTHER
    events = select(
        literal(_EVENT).label("kind"),
        StoryEvent.at.label("at"),
        literal(0).label("done_last"),
        _none(String).label("sort_text"),
        StoryEvent.id.label("sort_number"),
        StoryEvent.field.label("text_1"),
        StoryEvent.from_value.label("text_2"),
        StoryEvent.to_value.label("text_3"),
        StoryEvent.by_id.label("number_1"),
        _none(Integer).label("number_2"),
        _none(Integer).label("number_3"),
        _none(Integer).label("number_4"),
        _none(Integer).label("number_5"),
    ).where(StoryEvent.story_id == story_id)
    labels = (
        select(
            literal(_LABEL),
            _none(UTCDateTime),
            literal(0),
            Label.name,
            _none(Integer),
            _none(String),
            _none(String),
            _none(String),
            _none(Integer),
            _none(Integer),
            _none(Integer),
            _none(Integer),
            _none(Integer),
        )
        .join(story_label, story_label.c.label_id == Label.id)
        .where(story_label.c.story_id == story_id)
    )
    dependencies = (
        select(
            literal(_DEPENDENCY),
            _none(UTCDateTime),
            case((other.status == "done", 1), else_=0),
            Project.key,
            other.number,
            other.title,
            other.status,
            _none(String),
            other.id,
            Membership.id,
            other.sprint_id,
            StoryDependency.blocked_id,
            other.project_id,
        )
        .select_from(StoryDependency)
        .join(
            other,
            ((other.id == StoryDependency.blocker_id) & (StoryDependency.blocked_id == story_id))
            | ((other.id == StoryDependency.blocked_id) & (StoryDependency.blocker_id == story_id)),
        )
        .join(Project, Project.id == other.project_id)
        .outerjoin(
            Membership,
            (Membership.project_id == other.project_id) & (Membership.account_id == viewer_id),
        )
    )
    checklist = select(
        literal(_CHECKLIST),
        _none(UTCDateTime),
        literal(0),
        _none(String),
        _none(Integer),
        _none(String),
        _none(String),
        _none(String),
        func.count(),
        func.sum(case((ChecklistItem.done.is_(True), 1), else_=0)),
        _none(Integer),
        _none(Integer),
        _none(Integer),
    ).where(ChecklistItem.story_id == story_id)
    parts = union_all(events, labels, dependencies, checklist).subquery()
    return select(parts).order_by(
        parts.c.kind, parts.c.at, parts.c.done_last, parts.c.sort_text, parts.c.sort_number
    )


def story_parts(session: Session, story: Story, viewer: Account) -> StoryParts:
    """A story's history, labels, dependencies and checklist progress in one query: the same
    values, in the same order, as its StoryEvents by (at, id), labels_of, dependencies_of (for
    `viewer`) and progress_of."""
    rows = session.execute(
        _story_parts_query(), {"story_id": story.id, "viewer_id": viewer.id}
    ).all()
    history: list[HistoryEntry] = []
    names: list[str] = []
    blocked_by: list[Link] = []
    blocks: list[Link] = []
    progress = Progress(0, 0)
    for row in rows:
        kind = row.kind
        if kind == _EVENT:
            history.append(HistoryEntry(row.at, row.text_1, row.text_2, row.text_3, row.number_1))
        elif kind == _LABEL:
            names.append(row.sort_text)
        elif kind == _DEPENDENCY:
            seen = row.number_2 is not None
            pagecache.shows_story_of(row.number_5)
            project_key, number = row.sort_text, row.sort_number
            link = Link(
                story_id=row.number_1,
                key=f"{project_key}-{number}" if seen else None,
                project_key=project_key if seen else None,
                number=number if seen else None,
                title=row.text_1 if seen else None,
                status=row.text_2,
                sprint_id=row.number_3,
            )
            (blocked_by if row.number_4 == story.id else blocks).append(link)
        elif row.number_1:
            progress = Progress(int(row.number_2 or 0), int(row.number_1))
    names.sort()
    return StoryParts(history, names, Dependencies(blocked_by, blocks), progress)
