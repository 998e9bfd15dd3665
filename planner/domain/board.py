"""The sprint board: cards in status columns, optionally in swimlanes, and what changed since a
moment (for boards that refresh themselves); comments on stories; a person's open work."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from planner.domain import AccessDenied, ValidationError, outbox, required_text
from planner.domain.access import ProjectAccess
from planner.domain.context import ProjectContext
from planner.domain.story_filters import (
    BOARD_FILTERS,
    check_filters,
    filter_clauses,
    label_choices,
)
from planner.domain.watching import watch
from planner.inputs import TEXT_LIMITS
from planner.models import Account, Comment, Membership, Project, Sprint, Story
from planner.timeutil import parse_iso_datetime
from planner.vocab import STATUSES

LANES = ("none", "stage", "assignee", "epic")
BOARD_PREFERENCE = ("active", "planned")  # without a choice, show the running sprint
COMMENT_MAX = TEXT_LIMITS["comment"]


@dataclass
class Lane:
    key: str
    title: str
    columns: dict[str, list[Story]]

    @property
    def count(self) -> int:
        return sum(len(cards) for cards in self.columns.values())


def sprint_stories(session: Session, sprint: Sprint, *where) -> list[Story]:
    """Return the sprint's stories (those meeting the `where` conditions) in rank order, with
    their labels."""
    return list(
        session.scalars(
            select(Story)
            .where(Story.sprint_id == sprint.id, *where)
            .options(selectinload(Story.labels))
            .order_by(Story.rank, Story.id)
        )
    )


def board_filters(ctx: ProjectContext, args) -> dict:
    """Read the board's view settings from the query string, ignoring what is not valid. The
    filters are the stories' filters (planner.domain.story_filters) the board offers; "mine=1"
    is the assignee filter "me"."""
    lanes = args.get("lanes", "none")
    labels = label_choices(ctx)
    filters, _ = check_filters(ctx, args, only=BOARD_FILTERS, labels=[x.name for x in labels])
    mine = args.get("mine") == "1"
    if mine:
        filters["assignee"] = "me"
    return {
        "lanes": lanes if lanes in LANES else "none",
        "mine": mine,
        "role": filters.get("role", ""),
        "stage": filters.get("stage", ""),
        "label": filters.get("label", ""),
        "filters": filters,
        "labels": labels,  # the label filter's choices
    }


def board_cards(
    session: Session, ctx: ProjectContext, sprint: Sprint, view: dict, me: int
) -> list[Story]:
    """The sprint's cards that pass the board's filters."""
    return sprint_stories(session, sprint, *filter_clauses(ctx, view["filters"], me))


def lane_key(story: Story, by: str) -> str:
    """The key of the swimlane a card belongs in, as the page writes it (data-lane)."""
    if by not in LANES or by == "none":
        return "all"
    key = _lane_key(story, by)
    return "none" if key is None else str(key)


def lanes_of(stories: Sequence[Story], ctx: ProjectContext, by: str) -> list[Lane]:
    """Arrange cards into swimlanes (by stage, assignee or epic; one lane for 'none'), each with
    the four status columns."""

    def empty() -> dict[str, list[Story]]:
        return {status: [] for status in STATUSES}

    if by not in LANES or by == "none":
        lane = Lane("all", "", empty())
        for story in stories:
            lane.columns[story.status].append(story)
        return [lane]
    groups: dict[object, list[Story]] = defaultdict(list)
    for story in stories:
        groups[_lane_key(story, by)].append(story)
    order = _lane_order(ctx, by)
    lanes = []
    for key in sorted(groups, key=lambda k: order.get(k, (len(order), str(k)))):
        lane = Lane("none" if key is None else str(key), _lane_title(ctx, by, key), empty())
        for story in groups[key]:
            lane.columns[story.status].append(story)
        lanes.append(lane)
    return lanes


def _lane_key(story: Story, by: str):
    return {"stage": story.stage_id, "assignee": story.assignee_id, "epic": story.epic_id}[by]


def _lane_order(ctx: ProjectContext, by: str) -> dict[object, tuple[int, str]]:
    if by == "stage":
        return {s.id: (s.position, s.name) for s in ctx.stages.values()}
    if by == "assignee":
        return {m.account_id: (0, m.account.name.lower()) for m in ctx.members.values()}
    return {e.id: (0, f"{e.id:08d}") for e in ctx.epics.values()}


def _lane_title(ctx: ProjectContext, by: str, key) -> str:
    if key is None:
        return {"stage": "No stage", "assignee": "Unassigned", "epic": "No epic"}[by]
    if by == "stage":
        stage = ctx.stage_by_id(key)
        return stage.name if stage else "?"
    if by == "assignee":
        member = ctx.members.get(key)
        return member.account.name if member else "A former member"
    epic = ctx.epic_by_id(key)
    return f"{epic.key} · {epic.title}" if epic else "?"


@dataclass(frozen=True)
class BoardTotals:
    """What the board's headings say: cards and points per column of each lane, and how many of
    the points shown are done. The page draws them and the board's refresh sends them, so the
    page and its script never count for themselves."""

    columns: dict[tuple[str, str], tuple[int, int]]  # (lane key, status) -> (cards, points)
    done_points: int
    all_points: int
    filtered: bool

    @property
    def percent_done(self) -> int:
        return round(100 * self.done_points / self.all_points) if self.all_points else 0

    def column_label(self, lane: str, status: str) -> str:
        count, points = self.columns.get((lane, status), (0, 0))
        return f"{count} · {points} pts"

    @property
    def progress_label(self) -> str:
        shown = " (filtered)" if self.filtered else ""
        return f"{self.done_points} of {self.all_points} points done{shown}"

    def as_json(self) -> dict:
        return {
            "done_points": self.done_points,
            "all_points": self.all_points,
            "percent_done": self.percent_done,
            "progress_label": self.progress_label,
            "columns": [
                {
                    "lane": lane,
                    "status": status,
                    "cards": count,
                    "points": points,
                    "label": self.column_label(lane, status),
                }
                for (lane, status), (count, points) in self.columns.items()
            ],
        }


def board_totals(cards: Sequence[Story], view: dict) -> BoardTotals:
    """Count the cards shown (after the view's filters) in their lanes and columns. Unestimated
    cards count as cards and add no points."""
    columns: dict[tuple[str, str], tuple[int, int]] = {}
    done = total = 0
    for story in cards:
        where = (lane_key(story, view["lanes"]), story.status)
        count, points = columns.get(where, (0, 0))
        columns[where] = (count + 1, points + (story.points or 0))
        total += story.points or 0
        if story.status == "done":
            done += story.points or 0
    filtered = bool(view["filters"])
    return BoardTotals(columns, done, total, filtered)


def since_of(args) -> datetime | None:
    """The moment a board last looked (`since`, ISO 8601 with an offset), or None."""
    text = args.get("since")
    if not text:
        return None
    try:
        return parse_iso_datetime(text)
    except ValueError as exc:
        raise ValidationError({"since": str(exc)}) from None


@dataclass
class BoardChanges:
    now: datetime
    cards: list[Story]  # every card the view shows
    changed: list[Story]  # those changed after `since` (all of them without a `since`)
    totals: BoardTotals


def board_changes(
    session: Session,
    ctx: ProjectContext,
    sprint: Sprint,
    view: dict,
    me: int,
    *,
    since: datetime | None,
    now: datetime,
) -> BoardChanges:
    """What an open board needs to catch up: its cards' versions, the cards changed after
    `since`, and fresh totals."""
    cards = board_cards(session, ctx, sprint, view, me)
    changed = [s for s in cards if since is None or s.updated_at > since]
    return BoardChanges(now, cards, changed, board_totals(cards, view))


# --- comments ----------------------------------------------------------------------------------


def comments_of(session: Session, story: Story) -> list[Comment]:
    return list(
        session.scalars(
            select(Comment)
            .where(Comment.story_id == story.id)
            .options(selectinload(Comment.author))
            .order_by(Comment.created_at, Comment.id)
        )
    )


def add_comment(
    session: Session, project: Project, story: Story, body: str, *, by: Account, now: datetime
) -> Comment:
    """Add a Markdown comment to a story; its author watches the story from then on."""
    text, problem = required_text(
        body, max_len=COMMENT_MAX, empty="Write something first.", multiline=True
    )
    if problem:
        raise ValidationError({"body": problem})
    comment = Comment(story_id=story.id, author_id=by.id, body=text, created_at=now)
    session.add(comment)
    session.flush()
    watch(session, story.id, [by.id], now=now)
    outbox.story_commented(session, project, story, comment.id, text, by=by, now=now)
    return comment


def delete_comment(
    session: Session, access: ProjectAccess, comment: Comment, *, by: Account
) -> None:
    """Delete a comment: its author may, and so may members with manage access."""
    if comment.author_id != by.id and not access.can_manage:
        raise AccessDenied("Only its author or a project manager can delete a comment.")
    session.delete(comment)
    session.flush()


# --- my work -----------------------------------------------------------------------------------


@dataclass
class WorkGroup:
    project: Project
    sprint: Sprint | None
    stories: list[Story]


def open_work(session: Session, account: Account) -> list[WorkGroup]:
    """Return the account's unfinished stories across its projects, grouped by project and sprint
    (active sprints first, then planned, then the backlog), in two queries."""
    rows = session.execute(
        select(Story, Project, Sprint)
        .join(Project, Project.id == Story.project_id)
        .join(
            Membership,
            (Membership.project_id == Project.id) & (Membership.account_id == account.id),
        )
        .outerjoin(Sprint, Sprint.id == Story.sprint_id)
        .where(Story.assignee_id == account.id, Story.status != "done")
        .order_by(Project.name, Story.rank, Story.id)
    ).all()
    groups: dict[tuple[int, int | None], WorkGroup] = {}
    for story, project, sprint in rows:
        if sprint is not None and sprint.state == "closed":
            sprint = None  # left behind in a closed sprint: it is backlog work now
        key = (project.id, sprint.id if sprint else None)
        groups.setdefault(key, WorkGroup(project, sprint, [])).stories.append(story)
    rank = {"active": 0, "planned": 1}
    return sorted(
        groups.values(),
        key=lambda g: (
            rank.get(g.sprint.state, 2) if g.sprint else 3,
            g.sprint.start_date.toordinal() if g.sprint else 0,
            g.project.name,
        ),
    )
