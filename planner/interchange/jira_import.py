"""Import a read Jira CSV (`jira_csv.JiraFile`) into an existing project, all or nothing.

The mapping (docs/import-jira.md) is proposed from the file and the project's members; the
manager may change any status, type or person before importing. The preview is the import itself,
run inside a savepoint that is rolled back, so what the preview counts is what the import writes.

History: a Jira CSV carries no change history, only a few moments (Created, Updated, Resolved)
and the sprints a story went through. New stories get the history those moments allow, marked as
imported (`Story.imported_at`, `Sprint.imported_at`); charts of sprints before the import say
"imported, approximate". A re-import matches stories by issue key: a story whose Jira `Updated`
is not newer than the one last imported is left alone, so importing the same file again changes
nothing; a newer export changes what changed through `update_story`, recording each change as
history at the moment of the import.
"""

from __future__ import annotations

import heapq
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from planner.domain import ValidationError
from planner.domain.context import ProjectContext, load_context, lock_project
from planner.domain.history import calendar_of
from planner.domain.sprints import end_for
from planner.domain.stories import RANK_STEP, update_story
from planner.domain.watching import watch
from planner.inputs import DATE_MAX, DATE_MIN, TEXT_LIMITS
from planner.interchange import ImportRefused, Problem
from planner.interchange.jira_csv import JiraFile, JiraIssue, RowProblem, row_problem
from planner.metrics import Calendar
from planner.models import (
    Account,
    Comment,
    Epic,
    Label,
    Project,
    Sprint,
    Story,
    StoryEvent,
    story_label,
)
from planner.models.notify import StoryWatch
from planner.timeutil import add_days, local_date, local_midnight_after, local_start_of
from planner.vocab import POINTS_SCALE, STATUSES, STORY_TYPES

# Jira status names (any case) planner knows; anything else falls back to its Status Category.
STATUS_NAMES: dict[str, str] = {
    **dict.fromkeys(
        ("to do", "open", "backlog", "selected for development", "new", "reopened"), "todo"
    ),
    **dict.fromkeys(("in progress", "in development", "doing"), "in_progress"),
    **dict.fromkeys(("in review", "review", "code review", "in qa", "qa", "testing"), "review"),
    **dict.fromkeys(("done", "closed", "resolved", "complete", "completed"), "done"),
}
# Status Category names, as Jira writes them in English, German, French and Spanish.
CATEGORY_NAMES: dict[str, str] = {
    **dict.fromkeys(
        ("to do", "new", "zu erledigen", "aufgaben", "à faire", "a faire", "por hacer"), "todo"
    ),
    **dict.fromkeys(
        ("in progress", "indeterminate", "in arbeit", "en cours", "en curso", "en progreso"),
        "in_progress",
    ),
    **dict.fromkeys(
        ("done", "complete", "fertig", "erledigt", "terminé", "terminée", "listo", "hecho"),
        "done",
    ),
}
TYPE_NAMES: dict[str, str] = {
    **dict.fromkeys(("story", "user story", "geschichte", "histoire", "historia"), "feature"),
    **dict.fromkeys(("task", "aufgabe", "tâche", "tarea"), "chore"),
    **dict.fromkeys(("bug", "fehler", "bogue", "error"), "bug"),
    "spike": "spike",
    **dict.fromkeys(("sub-task", "subtask", "unteraufgabe", "sous-tâche", "subtarea"), "chore"),
    "epic": "epic",
}
# The choices a Jira type may be mapped to. Experiments are left out: planner's rule that a done
# experiment has an outcome cannot be met from a Jira row; change the type after the import.
TYPE_CHOICES = {**{k: v for k, v in STORY_TYPES.items() if k != "experiment"}, "epic": "Epic"}
PRIORITY_ORDER = {
    name: order
    for order, names in enumerate(
        [
            ("highest", "blocker"),
            ("high", "critical"),
            ("medium", "major"),
            ("low", "minor"),
            ("lowest", "trivial"),
        ]
    )
    for name in names
}


def key_of(name: str) -> str:
    return " ".join(name.split()).casefold()


def natural(name: str) -> tuple:
    """Sort key: "Sprint 10" after "Sprint 9"."""
    return tuple(
        int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", name)
    )


# --- the proposed mapping ------------------------------------------------------------------------


@dataclass
class StatusChoice:
    name: str
    category: str | None
    count: int
    status: str
    how: str  # "name", "category" or "guess"


@dataclass
class TypeChoice:
    name: str
    count: int
    type: str


@dataclass
class PersonChoice:
    name: str
    count: int
    account_id: int | None
    how: str  # "e-mail", "name", "chosen" or "unmatched"


@dataclass
class Proposal:
    statuses: list[StatusChoice]
    types: list[TypeChoice]
    people: list[PersonChoice]

    def choices(self) -> dict[str, dict]:
        return {
            "statuses": {key_of(c.name): c.status for c in self.statuses},
            "types": {key_of(c.name): c.type for c in self.types},
            "people": {c.name: c.account_id for c in self.people},
        }


def person_name(jira: JiraFile, raw: str | None) -> str | None:
    """Who a cell names: Cloud's comment authors are account ids, shown by their display name."""
    if raw is None:
        return None
    return jira.people_ids.get(raw, raw)


def propose(
    jira: JiraFile, ctx: ProjectContext, chosen: Mapping[str, Any] | None = None
) -> Proposal:
    """Propose how the file's statuses, types and people map, applying the manager's `chosen`
    changes (as `Proposal.choices()` writes them; unknown values are ignored)."""
    chosen = chosen or {}
    chosen_statuses = chosen.get("statuses") or {}
    chosen_types = chosen.get("types") or {}
    chosen_people = chosen.get("people") or {}

    statuses: dict[str, StatusChoice] = {}
    types: dict[str, TypeChoice] = {}
    people: dict[str, PersonChoice] = {}
    by_email = {m.account.email.casefold(): m.account_id for m in ctx.members.values()}
    by_name: dict[str, int] = {}
    for m in ctx.members.values():
        by_name.setdefault(key_of(m.account.name), m.account_id)

    def person(raw: str | None) -> None:
        name = person_name(jira, raw)
        if name is None:
            return
        if name in people:
            people[name].count += 1
            return
        if name.casefold() in by_email:
            choice = PersonChoice(name, 1, by_email[name.casefold()], "e-mail")
        elif key_of(name) in by_name:
            choice = PersonChoice(name, 1, by_name[key_of(name)], "name")
        else:
            choice = PersonChoice(name, 1, None, "unmatched")
        if name in chosen_people:
            picked = chosen_people[name]
            if picked in (None, "") or _int(picked) in ctx.members:
                choice.account_id = _int(picked)
                choice.how = "chosen"
        people[name] = choice

    for issue in jira.issues:
        type_key = key_of(issue.issue_type)
        if type_key in types:
            types[type_key].count += 1
        else:
            proposed = TYPE_NAMES.get(type_key, "feature")
            if chosen_types.get(type_key) in TYPE_CHOICES:
                proposed = chosen_types[type_key]
            types[type_key] = TypeChoice(issue.issue_type, 1, proposed)
        status_key = key_of(issue.status)
        if status_key in statuses:
            statuses[status_key].count += 1
        else:
            category = issue.status_category
            if status_key in STATUS_NAMES:
                status, how = STATUS_NAMES[status_key], "name"
            elif category and key_of(category) in CATEGORY_NAMES:
                status, how = CATEGORY_NAMES[key_of(category)], "category"
            else:
                status, how = ("done" if issue.resolved else "todo"), "guess"
            if chosen_statuses.get(status_key) in STATUSES:
                if chosen_statuses[status_key] != status:
                    how = "chosen"
                status = chosen_statuses[status_key]
            statuses[status_key] = StatusChoice(issue.status, category, 1, status, how)
        person(issue.assignee)
        person(issue.reporter)
        for comment in issue.comments:
            person(comment.author)
    return Proposal(
        statuses=sorted(statuses.values(), key=lambda c: (list(STATUSES).index(c.status), c.name)),
        types=sorted(types.values(), key=lambda c: -c.count),
        people=sorted(people.values(), key=lambda c: (c.account_id is not None, -c.count, c.name)),
    )


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- the outcome ---------------------------------------------------------------------------------


@dataclass
class SprintOutcome:
    name: str
    state: str
    start: date
    end: date
    stories: int
    new: bool


@dataclass
class Outcome:
    stories_created: int = 0
    stories_updated: int = 0
    stories_unchanged: int = 0
    epics_created: int = 0
    epics_updated: int = 0
    comments_added: int = 0
    labels_created: list[str] = field(default_factory=list)
    sprints: list[SprintOutcome] = field(default_factory=list)
    rounded: list[tuple[str, int, str, int]] = field(default_factory=list)  # key, row, was, now
    unassigned: dict[str, int] = field(default_factory=dict)  # unmatched person -> stories
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.stories_created
            or self.stories_updated
            or self.epics_created
            or self.epics_updated
            or self.comments_added
            or any(s.new for s in self.sprints)
        )


def round_points(value: float) -> int:
    """Round up to the next value of planner's scale; above the top, the top."""
    return next((p for p in POINTS_SCALE if p >= value - 1e-9), POINTS_SCALE[-1])


# --- the import ----------------------------------------------------------------------------------


def import_jira(
    session: Session,
    project: Project,
    jira: JiraFile,
    chosen: Mapping[str, Any] | None = None,
    *,
    by: Account | None,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> Outcome:
    """Write the file into `project` in the session's transaction; the caller commits.

    Raises ImportRefused when something makes the whole import impossible; problems a row can
    survive are in the outcome."""
    lock_project(session, project)
    ctx = load_context(session, project)
    calendar = calendar_of(session, project)
    return _Import(
        session, ctx, calendar, jira, propose(jira, ctx, chosen), by, now, progress
    ).run()


class _Import:
    def __init__(self, session, ctx, calendar, jira, proposal, by, now, progress) -> None:
        self.session: Session = session
        self.ctx: ProjectContext = ctx
        self.project: Project = ctx.project
        self.calendar: Calendar = calendar
        self.jira: JiraFile = jira
        self.by = by
        self.now = now
        self.progress = progress
        self.tz = self.project.timezone
        choices = proposal.choices()
        self.status_of = choices["statuses"]
        self.type_of = choices["types"]
        self.person_of: dict[str, int | None] = choices["people"]
        self.out = Outcome(problems=list(jira.problems))
        self.by_key = {issue.key: issue for issue in jira.issues}
        self.by_id = {issue.issue_id: issue for issue in jira.issues if issue.issue_id}
        self.new_sprint_ids: set[int] = set()

    def problem(self, issue: JiraIssue, column: str, message: str) -> None:
        self.out.problems.append(row_problem(issue.row, column, message))

    def kind(self, issue: JiraIssue) -> str:
        return self.type_of.get(key_of(issue.issue_type), "feature")

    def status(self, issue: JiraIssue) -> str:
        return self.status_of.get(key_of(issue.status), "todo")

    def account(self, raw: str | None) -> int | None:
        name = person_name(self.jira, raw)
        return None if name is None else self.person_of.get(name)

    def _no_future(self) -> None:
        """A date after the import (a wrong clock, a typo) would put history in the future."""
        for issue in self.jira.issues:
            for column in ("created", "updated", "resolved"):
                moment = getattr(issue, column)
                if moment is not None and moment > self.now:
                    self.problem(
                        issue, column.capitalize(), "after the import; taken as the import's time"
                    )
                    setattr(issue, column, self.now)
            for comment in issue.comments:
                if comment.at is not None and comment.at > self.now:
                    self.problem(issue, "Comment", "dated after the import; taken as now")
                    comment.at = self.now

    def run(self) -> Outcome:
        self._no_future()
        epics_in_file = [i for i in self.jira.issues if self.kind(i) == "epic"]
        stories_in_file = [i for i in self.jira.issues if self.kind(i) != "epic"]
        self.epics = self._epics(epics_in_file)
        self.sprints = self._sprints(stories_in_file)
        existing = {
            story.external_ref: story
            for story in self.session.scalars(
                select(Story).where(
                    Story.project_id == self.project.id, Story.external_ref.is_not(None)
                )
            )
        }
        self.labels = {
            label.name: label
            for label in self.session.scalars(
                select(Label).where(Label.project_id == self.project.id)
            )
        }
        self._create_labels({name for issue in stories_in_file for name in issue.labels})
        new = [i for i in stories_in_file if i.key not in existing]
        old = [(i, existing[i.key]) for i in stories_in_file if i.key in existing]
        self._update(old)
        self._create(new)
        self.session.flush()
        return self.out

    # --- what the file says, kept to compare the next import with ---

    def snapshot(self, issue: JiraIssue) -> dict[str, Any]:
        """The issue's fields as the file has them (before any mapping), and its comments."""
        return {
            "title": issue.summary,
            "description": issue.description,
            "type": key_of(issue.issue_type),
            "status": key_of(issue.status),
            "points": issue.points,
            "assignee": person_name(self.jira, issue.assignee),
            "epic": self.epic_ref(issue),
            "sprints": issue.sprints,
            "labels": issue.labels,
            "comments": sorted(comment.digest for comment in issue.comments),
        }

    # --- epics ---

    def _epics(self, issues: list[JiraIssue]) -> dict[str, Epic]:
        epics = {
            epic.external_ref: epic
            for epic in self.session.scalars(
                select(Epic).where(
                    Epic.project_id == self.project.id, Epic.external_ref.is_not(None)
                )
            )
        }
        for issue in issues:
            epic = epics.get(issue.key)
            wanted = {"title": issue.summary, "description": issue.description}
            if epic is None:
                self.project.epic_counter += 1
                epic = Epic(
                    project_id=self.project.id,
                    key=f"E{self.project.epic_counter}",
                    external_ref=issue.key,
                    created_at=issue.created or self.now,
                    **wanted,
                )
                self.session.add(epic)
                epics[issue.key] = epic
                self.out.epics_created += 1
            else:
                # Only what Jira changed since the last import; a rename in planner stays.
                before = _loads(epic.external_snapshot) or {
                    "title": epic.title,
                    "description": epic.description,
                }
                changed = {k: v for k, v in wanted.items() if before.get(k) != v}
                if changed:
                    for name, value in changed.items():
                        setattr(epic, name, value)
                    self.out.epics_updated += 1
            epic.external_snapshot = _dumps(wanted)
        self.session.flush()
        for epic in epics.values():
            self.ctx.epics[epic.key] = epic
        return epics

    def epic_ref(self, issue: JiraIssue, depth: int = 0) -> str | None:
        """The Jira key of the story's epic: its Epic Link or Parent when that is an epic; a
        sub-task takes its parent story's epic."""
        for ref in issue.parents:
            target = self.by_key.get(ref.upper()) or self.by_id.get(ref)
            if target is not None and self.kind(target) == "epic":
                return target.key
            if target is not None and depth < 3:
                if (found := self.epic_ref(target, depth + 1)) is not None:
                    return found
                continue
            if ref.upper() in self.epics:
                return ref.upper()
        return None

    def epic_of(self, issue: JiraIssue) -> int | None:
        key = self.epic_ref(issue)
        if key is None:
            missing = [
                ref
                for ref in issue.parents
                if (self.by_key.get(ref.upper()) or self.by_id.get(ref)) is None
            ]
            if missing:
                self.problem(issue, "Parent", f"{missing[0]} is not in this file; no epic was set")
            return None
        return self.epics[key].id

    # --- sprints ---

    def _sprints(self, issues: list[JiraIssue]) -> dict[str, Sprint]:
        """Find or create the file's sprints. A Jira CSV has sprint names but no dates or states:
        the order comes from each story's list (earlier sprints first), sprints that are the
        current sprint of an unfinished story are open (the first one active when the project has
        none), earlier ones closed, and dates are laid out by the project's sprint length."""
        order = _sprint_order([i.sprints for i in issues])
        existing: dict[str, Sprint] = {}
        for sprint in self.ctx.sprints.values():
            existing.setdefault(sprint.name, sprint)
        for sprint in self.ctx.sprints.values():
            if sprint.external_ref:
                existing[sprint.external_ref] = sprint  # found again after a rename
        open_names = {i.sprints[-1] for i in issues if i.sprints and self.status(i) != "done"}
        first_open = next((k for k, name in enumerate(order) if name in open_names), len(order))
        closed_new = [n for n in order[:first_open] if n not in existing]
        open_new = [n for n in order[first_open:] if n not in existing]
        length = self.project.sprint_length_days
        today = local_date(self.now, self.tz)
        starts = [s.start_date for s in self.ctx.sprints.values()]
        ends = [s.end_date for s in self.ctx.sprints.values()]
        resolved: dict[str, date] = {}  # sprint -> its stories' earliest resolution
        last_resolved: dict[str, date] = {}
        for issue in issues:
            if issue.sprints and issue.resolved and self.status(issue) == "done":
                day = local_date(issue.resolved, self.tz)
                name = issue.sprints[-1]
                resolved[name] = min(resolved.get(name, day), day)
                last_resolved[name] = max(last_resolved.get(name, day), day)
        # The first open sprint began when its first story was resolved, but not more than one
        # sprint length ago, and after every sprint the project has; it is active from then.
        first_start = max([add_days(today, 1 - length), *(add_days(end, 1) for end in ends)])
        if open_new and open_new[0] in resolved:
            first_start = max(first_start, min(resolved[open_new[0]], today))
        else:
            first_start = max(first_start, today)
        # Closed sprints: back to back before it, the last ending where its stories were last
        # resolved, never into a sprint the project already has, never before 2000.
        upper = add_days(min([first_start, today, *starts]), -1)
        counted = {name: 0 for name in order}
        for issue in issues:
            if issue.sprints:
                counted[issue.sprints[-1]] += 1
        laid: list[Sprint] = []
        for name in reversed(closed_new):
            end = max(min(last_resolved.get(name, upper), upper), DATE_MIN)
            start = max(add_days(end, 1 - length), DATE_MIN)
            upper = add_days(start, -1)
            laid.append(
                self._new_sprint(
                    name,
                    start,
                    end,
                    "closed",
                    local_start_of(start, self.tz),
                    # A second before the next day: the stories it carries over are moved then,
                    # so they count in the next sprint's commitment (read at its start).
                    min(local_midnight_after(end, self.tz) - timedelta(seconds=1), self.now),
                )
            )
        has_active = any(s.state == "active" for s in self.ctx.sprints.values())
        start = first_start
        for name in open_new:
            if start > today and not self.calendar.is_working(start):
                start = self.calendar.next_working_day(start)
            end = end_for(self.calendar, start, length)
            if start <= today and end < today:
                # An open sprint runs through today (today may be past its last working day).
                start, end = add_days(start, (today - end).days), today
            if end > DATE_MAX:
                raise ImportRefused(
                    [
                        Problem(
                            "Sprint",
                            f"{len(open_new)} open sprints laid end to end would run past "
                            f"{DATE_MAX} ({name}); import fewer sprints at a time",
                        )
                    ]
                )
            active = not has_active and start <= today
            started = min(local_start_of(start, self.tz), self.now) if active else None
            laid.append(
                self._new_sprint(name, start, end, "active" if active else "planned", started)
            )
            has_active = has_active or active
            start = add_days(end, 1)
        self.session.add_all(laid)
        self.session.flush()
        sprints = dict(existing)
        for sprint in laid:
            sprints[sprint.name] = sprint
            self.ctx.sprints[sprint.id] = sprint
            self.new_sprint_ids.add(sprint.id)
        for name in order:
            sprint = sprints[name]
            self.out.sprints.append(
                SprintOutcome(
                    sprint.name,
                    sprint.state,
                    sprint.start_date,
                    sprint.end_date,
                    counted[name],
                    name not in existing,
                )
            )
        return sprints

    def _new_sprint(self, name, start, end, state, started_at, closed_at=None) -> Sprint:
        return Sprint(
            project_id=self.project.id,
            name=name,
            start_date=start,
            end_date=end,
            state=state,
            started_at=started_at,
            closed_at=closed_at,
            imported_at=self.now,
            external_ref=name,
            created_at=self.now,
        )

    def sprint_moves(self, issue: JiraIssue, created: datetime) -> tuple[int | None, list[dict]]:
        """The new story's current sprint and the events that carried it there. Only sprints
        this import creates get a past: a sprint the project already had gets the story at the
        moment of the import (or, when it is closed, not at all), so its chart stays as it was."""
        names = [n for n in issue.sprints if n in self.sprints]
        if not names:
            return None, []
        past = [n for n in names[:-1] if self.sprints[n].id in self.new_sprint_ids]
        current = self.sprints[names[-1]]
        events = []
        for earlier, later in zip(past, past[1:], strict=False):
            was = self.sprints[earlier]
            at = was.closed_at if was.state == "closed" and was.closed_at else self.now
            events.append(
                self._event("sprint", str(was.id), str(self.sprints[later].id), max(at, created))
            )
        if current.id in self.new_sprint_ids:
            if past:
                was = self.sprints[past[-1]]
                at = was.closed_at if was.state == "closed" and was.closed_at else self.now
                events.append(self._event("sprint", str(was.id), str(current.id), max(at, created)))
            return current.id, events
        # A sprint the project had before this import.
        last = str(self.sprints[past[-1]].id) if past else None
        if current.state == "closed":
            self.problem(
                issue,
                "Sprint",
                f"{current.name} is closed in planner; {issue.key} was left out of it so its "
                "chart does not change",
            )
            if last is not None:
                events.append(self._event("sprint", last, None, max(self.now, created)))
            return None, events
        events.append(self._event("sprint", last, str(current.id), max(self.now, created)))
        return current.id, events

    def _event(self, field: str, was: str | None, now_: str | None, at: datetime) -> dict:
        return {"field": field, "from_value": was, "to_value": now_, "at": at, "by_id": None}

    # --- stories ---

    def points_of(self, issue: JiraIssue) -> int | None:
        if issue.points is None:
            return None
        points = round_points(issue.points)
        if points != issue.points:
            self.out.rounded.append((issue.key, issue.row, issue.points_text or "", points))
            if issue.points > POINTS_SCALE[-1]:
                self.problem(
                    issue,
                    issue.points_column,
                    f"{issue.points_text} is above planner's largest estimate, "
                    f"{POINTS_SCALE[-1]}; set to {POINTS_SCALE[-1]}. Consider splitting it.",
                )
        return points

    def assignee_of(self, issue: JiraIssue) -> int | None:
        account_id = self.account(issue.assignee)
        if issue.assignee and account_id is None:
            name = person_name(self.jira, issue.assignee)
            self.out.unassigned[name] = self.out.unassigned.get(name, 0) + 1
        return account_id

    def comment_body(self, issue: JiraIssue, comment) -> tuple[int | None, str]:
        author = self.account(comment.author)
        body = comment.body
        if author is None and comment.author:
            prefix = f"*From Jira, by {person_name(self.jira, comment.author)}:*\n\n"
            body = prefix + body[: TEXT_LIMITS["comment"] - len(prefix)]
        return author, body

    def _numbers(self, issues: list[JiraIssue]) -> dict[str, int]:
        """Keep Jira's number when the project key is the same and the number is free (FRAUD-31
        stays FRAUD-31); give the others the next numbers."""
        taken = set(
            self.session.scalars(select(Story.number).where(Story.project_id == self.project.id))
        )
        numbers: dict[str, int] = {}
        prefix = self.project.key + "-"
        for issue in issues:
            if issue.key.startswith(prefix):
                number = int(issue.key[len(prefix) :])
                if 1 <= number < 2**31 and number not in taken:
                    numbers[issue.key] = number
                    taken.add(number)
        counter = max([self.project.story_counter, *taken], default=0)
        for issue in issues:
            if issue.key not in numbers:
                counter += 1
                numbers[issue.key] = counter
        self.project.story_counter = max([counter, *numbers.values()], default=counter)
        return numbers

    def _create(self, issues: list[JiraIssue]) -> None:
        if not issues:
            return
        numbers = self._numbers(issues)
        lowest = self.session.scalar(
            select(Story.rank)
            .where(Story.project_id == self.project.id)
            .order_by(Story.rank.desc())
            .limit(1)
        )
        ordered = sorted(
            issues,
            key=lambda i: (
                i.rank is None,
                i.rank or "",
                PRIORITY_ORDER.get(key_of(i.priority or ""), 2),
                numbers[i.key],
            ),
        )
        rank_of = {i.key: (lowest or 0) + RANK_STEP * (n + 1) for n, i in enumerate(ordered)}
        rows, pending = [], []
        for issue in issues:
            created = issue.created or self.now
            status = self.status(issue)
            sprint_id, events = self.sprint_moves(issue, created)
            if status != "todo":
                at = (issue.resolved if status == "done" else None) or issue.updated or created
                events.append(self._event("status", "todo", status, max(at, created)))
            rows.append(
                {
                    "project_id": self.project.id,
                    "number": numbers[issue.key],
                    "title": issue.summary,
                    "description": issue.description,
                    "type": self.kind(issue),
                    "points": self.points_of(issue),
                    "status": status,
                    "rank": rank_of[issue.key],
                    "assignee_id": self.assignee_of(issue),
                    "sprint_id": sprint_id,
                    "epic_id": self.epic_of(issue),
                    "blocked": False,
                    "version": 1,
                    "created_by_id": self.account(issue.reporter),
                    "updated_by_id": None,
                    "created_at": created,
                    "updated_at": max([created, *(e["at"] for e in events)]),
                    "external_ref": issue.key,
                    "imported_at": self.now,
                    "external_updated": issue.updated,
                    "external_snapshot": _dumps(self.snapshot(issue)),
                }
            )
            pending.append((issue, events))
        ids: list[int] = []
        for chunk in range(0, len(rows), 500):
            ids += self.session.scalars(
                insert(Story).returning(Story.id, sort_by_parameter_order=True),
                rows[chunk : chunk + 500],
            ).all()
            if self.progress:
                self.progress(len(rows[chunk : chunk + 500]))
        events, comments, watches, links = [], [], [], []
        for story_id, row, (issue, story_events) in zip(ids, rows, pending, strict=True):
            events += [{**e, "story_id": story_id} for e in story_events]
            for comment in issue.comments:
                author, body = self.comment_body(issue, comment)
                comments.append(
                    {
                        "story_id": story_id,
                        "author_id": author,
                        "body": body,
                        "created_at": comment.at or row["created_at"],
                    }
                )
            for account_id in dict.fromkeys((row["created_by_id"], row["assignee_id"])):
                if account_id is not None:
                    watches.append(
                        {"story_id": story_id, "account_id": account_id, "created_at": self.now}
                    )
            links += [
                {"story_id": story_id, "label_id": self.label(name).id} for name in issue.labels
            ]
        self.session.flush()
        for table, values in ((StoryEvent, events), (Comment, comments), (StoryWatch, watches)):
            for chunk in range(0, len(values), 1000):
                self.session.execute(insert(table), values[chunk : chunk + 1000])
        for chunk in range(0, len(links), 1000):
            self.session.execute(insert(story_label), links[chunk : chunk + 1000])
        self.out.stories_created = len(rows)
        self.out.comments_added += len(comments)

    def _create_labels(self, names: set[str]) -> None:
        """The file's labels the project lacks, in one statement (their ids in one more)."""
        missing = sorted(names - set(self.labels))
        if not missing:
            return
        self.session.execute(
            insert(Label), [{"project_id": self.project.id, "name": n} for n in missing]
        )
        self.labels.update(
            (label.name, label)
            for label in self.session.scalars(
                select(Label).where(Label.project_id == self.project.id)
            )
        )
        self.out.labels_created += missing

    def label(self, name: str) -> Label:
        label = self.labels.get(name)
        if label is None:
            label = Label(project_id=self.project.id, name=name)
            self.session.add(label)
            self.session.flush()
            self.labels[name] = label
            self.out.labels_created.append(name)
        return label

    def _update(self, pairs: list[tuple[JiraIssue, Story]]) -> None:
        """Stories imported before: change only what the file changed since the last import
        (not what the team changed in planner since), with history, through update_story."""
        work = []
        for issue, story in pairs:
            before = _loads(story.external_snapshot)
            after = self.snapshot(issue)
            if before == after:
                self.out.stories_unchanged += 1
            else:
                work.append((issue, story, before, after))
        if not work:
            return
        ids = [story.id for _, story, _, _ in work]
        label_rows = self.session.execute(
            select(story_label.c.story_id, Label.name)
            .join(Label, Label.id == story_label.c.label_id)
            .where(story_label.c.story_id.in_(ids))
        ).all()
        labels_of: dict[int, set[str]] = {}
        for story_id, name in label_rows:
            labels_of.setdefault(story_id, set()).add(name)
        for issue, story, before, after in work:
            if before is None:
                # Imported before planner kept what the file said (an older export): compare
                # with the story as it is, but only when Jira says it changed since.
                if (
                    issue.updated is not None
                    and story.external_updated is not None
                    and issue.updated <= story.external_updated
                ):
                    story.external_snapshot = _dumps(after)
                    self.out.stories_unchanged += 1
                    continue
                before = {}
            differs = {name for name in after if before.get(name, _UNSET) != after[name]}
            changes: dict[str, Any] = {}
            if "title" in differs:
                changes["title"] = issue.summary
            if "description" in differs:
                changes["description"] = issue.description
            if "type" in differs and story.type != "experiment":
                changes["type"] = self.kind(issue)
            if "status" in differs:
                changes["status"] = self.status(issue)
            if "points" in differs:
                changes["points"] = self.points_of(issue)
            if "assignee" in differs:
                changes["assignee"] = self.assignee_of(issue)
            if "epic" in differs:
                epic_id = self.epic_of(issue)
                changes["epic"] = self.ctx.epic_by_id(epic_id).key if epic_id else None
            if "sprints" in differs:
                names = [n for n in issue.sprints if n in self.sprints]
                sprint = self.sprints[names[-1]] if names else None
                if sprint is not None and sprint.state == "closed":
                    self.problem(
                        issue, "Sprint", f"{sprint.name} is closed in planner; the sprint was kept"
                    )
                else:
                    changes["sprint"] = sprint.id if sprint else None
            changes = {k: v for k, v in changes.items() if self._current(story, k) != v}
            changed = False
            if changes:
                try:
                    update_story(
                        self.session,
                        self.ctx,
                        story,
                        changes,
                        by=self.by,
                        now=self.now,
                        enforce_gates=False,
                    )
                except ValidationError as exc:
                    for column, message in exc.errors.items():
                        self.problem(issue, column, f"{issue.key} not updated: {message}")
                    continue
                changed = True
            if "labels" in differs:
                have = labels_of.get(story.id, set())
                dropped = set((before or {}).get("labels") or []) - set(issue.labels)
                for name in dropped & have:
                    self.session.execute(
                        delete(story_label).where(
                            story_label.c.story_id == story.id,
                            story_label.c.label_id == self.label(name).id,
                        )
                    )
                    changed = True
                missing = [n for n in issue.labels if n not in have]
                if missing:
                    self.session.execute(
                        insert(story_label),
                        [{"story_id": story.id, "label_id": self.label(n).id} for n in missing],
                    )
                    changed = True
            seen = set((before or {}).get("comments") or [])
            for comment in issue.comments:
                if comment.digest in seen:
                    continue
                author, body = self.comment_body(issue, comment)
                self.session.add(
                    Comment(
                        story_id=story.id,
                        author_id=author,
                        body=body,
                        created_at=comment.at or story.created_at,
                    )
                )
                seen.add(comment.digest)
                self.out.comments_added += 1
                changed = True
            story.external_snapshot = _dumps(after)
            story.external_updated = issue.updated
            if changed:
                self.out.stories_updated += 1
                watch(self.session, story.id, [story.assignee_id], now=self.now)
            else:
                self.out.stories_unchanged += 1
        self.session.flush()

    def _current(self, story: Story, field: str) -> Any:
        """The story's value of an update_story field, as update_story takes it."""
        if field == "assignee":
            return story.assignee_id
        if field == "sprint":
            return story.sprint_id
        if field == "epic":
            epic = self.ctx.epic_by_id(story.epic_id)
            return epic.key if epic else None
        return getattr(story, field)


_UNSET = object()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _loads(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _sprint_order(lists: list[list[str]]) -> list[str]:
    """Order sprint names so that each story's earlier sprints come first; ties and cycles in
    natural name order ("Sprint 9" before "Sprint 10")."""
    after: dict[str, set[str]] = {}
    before_count: dict[str, int] = {}
    for names in lists:
        for name in names:
            after.setdefault(name, set())
            before_count.setdefault(name, 0)
        for earlier, later in zip(names, names[1:], strict=False):
            if later not in after[earlier]:
                after[earlier].add(later)
                before_count[later] += 1
    ready = [(natural(n), n) for n, c in before_count.items() if c == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, name = heapq.heappop(ready)
        order.append(name)
        for later in after[name]:
            before_count[later] -= 1
            if before_count[later] == 0:
                heapq.heappush(ready, (natural(later), later))
    rest = sorted((n for n in before_count if n not in set(order)), key=natural)
    return order + rest


def outcome_lines(outcome: Outcome) -> list[str]:
    """What an import did (or, in a preview, would do), a sentence a line."""
    lines = [
        f"Stories: {outcome.stories_created} new, {outcome.stories_updated} changed, "
        f"{outcome.stories_unchanged} unchanged.",
        f"Epics: {outcome.epics_created} new, {outcome.epics_updated} changed.",
    ]
    new_sprints = [s for s in outcome.sprints if s.new]
    if outcome.sprints:
        lines.append(
            f"Sprints: {len(new_sprints)} new of {len(outcome.sprints)} in the file"
            + (
                " (" + ", ".join(f"{s.name}: {s.state}" for s in new_sprints) + ")."
                if new_sprints
                else "."
            )
        )
    if outcome.comments_added:
        lines.append(f"Comments: {outcome.comments_added} added.")
    if outcome.labels_created:
        lines.append(f"New labels: {_some(outcome.labels_created)}.")
    if outcome.rounded:
        lines.append(
            f"Points rounded up to planner's scale ({len(outcome.rounded)}): "
            + _some([f"{key} {was} → {now}" for key, _row, was, now in outcome.rounded])
            + "."
        )
    if outcome.unassigned:
        lines.append(
            "Not matched to a member, their stories left unassigned: "
            + _some([f"{name} ({count})" for name, count in outcome.unassigned.items()])
            + "."
        )
    return lines


def _some(items: list[str], shown: int = 8) -> str:
    """A list short enough for a sentence: the first few, then how many more."""
    text = ", ".join(items[:shown])
    return text + (f" and {len(items) - shown} more" if len(items) > shown else "")
