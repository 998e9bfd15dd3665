"""Stories: the one path by which a story is created or changed.

Every change of a tracked field (status, points, sprint, stage, role, assignee) writes a StoryEvent
in the same transaction, so the history the charts are computed from is complete by construction.
Nothing else in planner assigns those attributes of an existing story.
Every change of a text field (title, description and the experiment's texts) writes a
StoryTextChange for the story's history; charts never read those.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from planner.domain import (
    StaleVersionError,
    ValidationError,
    outbox,
    parse_id,
    required_text,
    text_value,
)
from planner.domain.context import ProjectContext, next_counter
from planner.domain.gates import check_start
from planner.domain.watching import watch
from planner.inputs import TEXT_LIMITS
from planner.models import Account, OutcomeRecord, Project, Story, StoryEvent, StoryTextChange
from planner.models.story import TEXT_FIELDS
from planner.vocab import OUTCOMES, POINTS_SCALE, ROLES, STATUSES, STORY_TYPES, TRACKED_FIELDS

RANK_STEP = 1024
TITLE_MAX = TEXT_LIMITS["title"]
# The kind of free text each text field of a story is (planner.inputs.TEXT_LIMITS).
TEXT_KINDS = {
    "description": "description",
    "hypothesis": "long",
    "result": "long",
    "metric": "short",
    "target": "short",
}
EDITABLE_FIELDS = frozenset(
    {
        "title",
        "description",
        "type",
        "stage",
        "role",
        "points",
        "status",
        "assignee",
        "sprint",
        "epic",
        "blocked",
        "hypothesis",
        "metric",
        "target",
        "outcome",
        "result",
    }
)

# Fields whose value is one key of a fixed list: (keys, may be None, message when it is not).
CHOICE_FIELDS: dict[str, tuple[dict[str, str], bool, str]] = {
    "type": (STORY_TYPES, False, "Choose a type: {choices}."),
    "status": (STATUSES, False, "Choose a status: {choices}."),
    "outcome": (OUTCOMES, True, "Choose an outcome: {choices}."),
    "role": (ROLES, True, "{value!r} is not a functional role."),
}


# --- values ------------------------------------------------------------------------------------


def _as_int(value: Any) -> int | None:
    """A whole number from an int or digits (a leading minus allowed), bounded to the database."""
    if isinstance(value, str) and value.strip().startswith("-"):
        number = parse_id(value.strip()[1:])
        return None if number is None else -number
    return parse_id(value)


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def clean_values(ctx: ProjectContext, values: Mapping[str, Any]) -> tuple[dict, dict[str, str]]:
    """Check and normalise story values; return (cleaned, per-field errors).

    Accepted forms: stage and role keys, points as an int on the scale (None = unestimated),
    status / type / outcome keys, assignee as an account id or a member's email, sprint as a
    sprint id, epic as an epic key. Empty strings mean "none" for optional fields.
    """
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in values:
        if field not in EDITABLE_FIELDS:
            errors[field] = f"{field!r} is not a field of a story."
    for field, raw in values.items():
        if field not in EDITABLE_FIELDS:
            continue
        value = _blank_to_none(raw)
        if field == "title":
            title, problem = required_text(raw, max_len=TITLE_MAX, empty="Enter a title.")
            if problem:
                errors[field] = problem
            else:
                cleaned[field] = title
        elif field in TEXT_KINDS:
            text, problem = text_value(raw, TEXT_KINDS[field])
            if problem:
                errors[field] = problem
            else:
                cleaned[field] = text
        elif field in CHOICE_FIELDS:
            choices, nullable, message = CHOICE_FIELDS[field]
            if (value is None and nullable) or (isinstance(value, str) and value in choices):
                cleaned[field] = value
            else:
                errors[field] = message.format(choices=", ".join(choices), value=value)
        elif field == "points":
            if value is None:
                cleaned[field] = None
                continue
            points = _as_int(value)
            if points is None or points not in POINTS_SCALE:
                scale = ", ".join(map(str, POINTS_SCALE))
                errors[field] = f"Points are one of {scale}, or empty for unestimated."
            else:
                cleaned[field] = points
        elif field == "stage":
            if value is None:
                cleaned[field] = None
            elif not isinstance(value, str) or value not in ctx.stages:
                errors[field] = f"The project has no stage {value!r}."
            else:
                cleaned[field] = ctx.stages[value]
        elif field == "assignee":
            if value is None:
                cleaned[field] = None
                continue
            member = None
            account_id = _as_int(value)
            if account_id is not None:
                member = ctx.members.get(account_id)
            elif isinstance(value, str):
                member = ctx.member_by_email(value)
            if member is None:
                errors[field] = f"{value!r} is not a member of {ctx.project.key}."
            elif member.access == "view":
                errors[field] = f"{member.account.name} has view access only and cannot take work."
            else:
                cleaned[field] = member.account
        elif field == "sprint":
            if value is None:
                cleaned[field] = None
                continue
            sprint_id = _as_int(value)
            sprint = ctx.sprints.get(sprint_id) if sprint_id is not None else None
            if sprint is None:
                errors[field] = f"{ctx.project.key} has no sprint {value!r}."
            else:
                cleaned[field] = sprint
        elif field == "epic":
            if value is None:
                cleaned[field] = None
            elif not isinstance(value, str) or value not in ctx.epics:
                errors[field] = f"{ctx.project.key} has no epic {value!r}."
            else:
                cleaned[field] = ctx.epics[value]
        elif field == "blocked":
            if not isinstance(raw, bool):
                errors[field] = "Blocked is true or false."
            else:
                cleaned[field] = raw
    return cleaned, errors


def encode(field: str, value: Any) -> str | None:
    """Return how a tracked field's value is stored in a StoryEvent."""
    if value is None:
        return None
    if field in ("status", "role"):
        return value
    if field == "points":
        return str(value)
    if field == "stage":
        return value.key
    if field in ("sprint", "assignee"):
        return str(value.id)
    raise ValueError(f"{field} is not a tracked field")


def current_tracked(ctx: ProjectContext, story: Story) -> dict[str, str | None]:
    """Return the story's tracked fields, encoded as events store them."""
    stage = ctx.stage_by_id(story.stage_id)
    return {
        "status": story.status,
        "points": None if story.points is None else str(story.points),
        "sprint": None if story.sprint_id is None else str(story.sprint_id),
        "stage": None if stage is None else stage.key,
        "role": story.role,
        "assignee": None if story.assignee_id is None else str(story.assignee_id),
    }


def needs_outcome(type_: str, outcome: str | None) -> bool:
    """An experiment is done only with an outcome other than pending (docs/rules.md): tell
    whether a story still needs one before it may move to Done. The board and the import ask
    this same function."""
    return type_ == "experiment" and outcome in (None, "pending")


def _experiment_rule(type_: str, status: str, outcome: str | None) -> dict[str, str]:
    if status == "done" and needs_outcome(type_, outcome):
        return {
            "outcome": "An experiment is done only with an outcome: confirmed, refuted or "
            "inconclusive. Record the outcome before moving it to Done."
        }
    return {}


# --- operations --------------------------------------------------------------------------------


def next_story_number(session: Session, project: Project) -> int:
    """Hand out the project's next story number (FRAUD-42); concurrent callers get distinct ones."""
    return next_counter(session, project, "story_counter")


def top_rank(session: Session, project: Project) -> int:
    """Return a rank above every story of the project."""
    highest = session.scalar(select(func.min(Story.rank)).where(Story.project_id == project.id))
    return (highest or 0) - RANK_STEP


def bottom_rank(session: Session, project: Project) -> int:
    """Return a rank below every story of the project."""
    lowest = session.scalar(select(func.max(Story.rank)).where(Story.project_id == project.id))
    return (lowest or 0) + RANK_STEP


def create_story(
    session: Session,
    ctx: ProjectContext,
    values: Mapping[str, Any],
    *,
    by: Account | None,
    now: datetime,
) -> Story:
    """Add a story at the bottom of the backlog. Its initial values need no events: with no event a
    field has held its value since the story was created (docs/rules.md)."""
    values = dict(values)
    values.setdefault("title", "")
    cleaned, errors = clean_values(ctx, values)
    type_ = cleaned.get("type", "feature")
    status = cleaned.get("status", "todo")
    outcome = cleaned.get("outcome")
    if type_ == "experiment" and outcome is None:
        outcome = "pending"
    if not errors:
        errors.update(_experiment_rule(type_, status, outcome))
        sprint = cleaned.get("sprint")
        if sprint is not None and sprint.state == "closed":
            errors["sprint"] = f"{sprint.name} is closed; pick a planned or active sprint."
        stage = cleaned.get("stage")
        if stage is not None and stage.archived:
            errors["stage"] = f"The stage {stage.name} is archived."
    if errors:
        raise ValidationError(errors)
    check_start(session, ctx, None, cleaned)  # gates: enforced stage gates
    stage = cleaned.get("stage")
    story = Story(
        project_id=ctx.project.id,
        number=next_story_number(session, ctx.project),
        title=cleaned["title"],
        description=cleaned.get("description"),
        type=type_,
        stage_id=stage.id if stage else None,
        role=cleaned.get("role"),
        points=cleaned.get("points"),
        status=status,
        rank=bottom_rank(session, ctx.project),
        assignee_id=cleaned["assignee"].id if cleaned.get("assignee") else None,
        sprint_id=cleaned["sprint"].id if cleaned.get("sprint") else None,
        epic_id=cleaned["epic"].id if cleaned.get("epic") else None,
        blocked=cleaned.get("blocked", False),
        hypothesis=cleaned.get("hypothesis"),
        metric=cleaned.get("metric"),
        target=cleaned.get("target"),
        outcome=outcome,
        result=cleaned.get("result"),
        version=1,
        created_by_id=by.id if by else None,
        updated_by_id=by.id if by else None,
        created_at=now,
        updated_at=now,
    )
    session.add(story)
    session.flush()
    watch(session, story.id, [story.created_by_id, story.assignee_id], now=now)
    outbox.story_created(session, ctx, story, by=by, now=now)
    return story


def update_story(
    session: Session,
    ctx: ProjectContext,
    story: Story,
    changes: Mapping[str, Any],
    *,
    by: Account | None,
    now: datetime,
    base_version: int | None = None,
    record: OutcomeRecord | None = None,
    enforce_gates: bool = True,
) -> list[StoryEvent]:
    """Apply `changes` to a story, writing one event per tracked field that changed.

    With `base_version`, the edit is refused when the story has moved on since that version; the
    UPDATE itself also carries WHERE version = <loaded>, so a concurrent writer cannot slip in
    between the check and the write. Returns the events written (none when nothing changed).
    A change of outcome appends an OutcomeRecord: `record` (a confirmed proposal, naming its run)
    or one set by hand, with no run.
    """
    if base_version is not None and base_version != story.version:
        raise stale_error(session, ctx, story, base_version)
    cleaned, errors = clean_values(ctx, changes)
    if errors:
        raise ValidationError(errors)

    type_ = cleaned.get("type", story.type)
    outcome = cleaned["outcome"] if "outcome" in cleaned else story.outcome
    if type_ == "experiment" and outcome is None:
        outcome = "pending"
        cleaned["outcome"] = outcome
    status = cleaned.get("status", story.status)
    errors.update(_experiment_rule(type_, status, outcome))
    sprint = cleaned.get("sprint")
    if sprint is not None and sprint.id != story.sprint_id and sprint.state == "closed":
        errors["sprint"] = f"{sprint.name} is closed; pick a planned or active sprint."
    stage = cleaned.get("stage")
    if stage is not None and stage.id != story.stage_id and stage.archived:
        errors["stage"] = f"The stage {stage.name} is archived."
    if errors:
        raise ValidationError(errors)
    if enforce_gates:  # an import records what already happened elsewhere: never refused
        check_start(session, ctx, story, cleaned)
    reopened_from = _reopened_in_closed_sprint(ctx, story, cleaned)
    top = None
    if reopened_from is not None:
        cleaned["sprint"] = None  # to the top of the backlog, where the team sees it
        top = top_rank(session, ctx.project)  # read before the story changes (no autoflush)

    before = current_tracked(ctx, story)
    events: list[StoryEvent] = []
    # Text edits go to their own table: the history shows them, the charts never read them.
    texts: list[StoryTextChange] = []
    changed = False
    changes: dict[str, tuple[Any, Any]] = {}  # for the outbox, as the API shows values
    for field, value in cleaned.items():
        if field in TRACKED_FIELDS:
            new = encode(field, value)
            if new == before[field]:
                continue
            changes[field] = (
                shown_value(ctx, field, before[field]),
                shown_value(ctx, field, new),
            )
            events.append(
                StoryEvent(
                    story_id=story.id,
                    field=field,
                    from_value=before[field],
                    to_value=new,
                    at=now,
                    by_id=by.id if by else None,
                )
            )
            _assign_tracked(story, field, value)
            changed = True
        else:
            attribute = "epic_id" if field == "epic" else field
            new_value = value.id if field == "epic" and value is not None else value
            if field in TEXT_FIELDS and same_text(getattr(story, attribute), new_value):
                continue  # a browser sends "\r\n" for "\n": not an edit
            if getattr(story, attribute) != new_value:
                old_value = getattr(story, attribute)
                if field == "epic":
                    old_epic = ctx.epic_by_id(old_value)
                    changes[field] = (old_epic.key if old_epic else None, value and value.key)
                else:
                    changes[field] = (old_value, new_value)
                if field in TEXT_FIELDS:
                    texts.append(
                        StoryTextChange(
                            story_id=story.id,
                            field=field,
                            from_text=old_value,
                            to_text=new_value,
                            at=now,
                            by_id=by.id if by else None,
                        )
                    )
                setattr(story, attribute, new_value)
                changed = True
    if not changed:
        return []
    if top is not None:
        story.rank = top
    story.version = story.version + 1
    story.updated_at = now
    story.updated_by_id = by.id if by else None
    session.add_all(events)
    session.add_all(texts)
    if "outcome" in changes and _decided(*changes["outcome"]):
        if record is None:  # set by hand: no run, no value
            record = OutcomeRecord(story_id=story.id, outcome=story.outcome, decided_at=now)
            record.decided_by_id = by.id if by else None
        session.add(record)
    # Added before the flush, so that one flush writes the change with its outbox row (a stale
    # version raises below, and the caller's rollback takes the row with it).
    outbox.story_updated(session, ctx, story, changes, by=by, now=now)
    try:
        session.flush()
    except StaleDataError:
        # The caller rolls back: the domain never ends a transaction.
        raise StaleVersionError(
            "Someone else changed this story at the same moment; reload it and try again.",
            current_version=-1,
        ) from None
    if "assignee" in changes:
        watch(session, story.id, [story.assignee_id], now=now)
    return events


def _decided(old: str | None, new: str | None) -> bool:
    """Tell whether an outcome change is a decision to record: not the pending an experiment
    gets when it becomes one, nor the outcome's removal."""
    return new is not None and not (old is None and new == "pending")


def same_text(old: str | None, new: str | None) -> bool:
    """Tell whether two versions of a text differ at most in their line endings."""
    if old is None or new is None:
        return old is new
    return old.replace("\r\n", "\n") == new.replace("\r\n", "\n")


def _reopened_in_closed_sprint(ctx: ProjectContext, story: Story, cleaned: dict) -> Any:
    """The closed sprint a done story is being reopened in, if so (docs/rules.md, "Stories"):
    a closed sprint shows on no board and in no backlog, so the story leaves it for the top of
    the backlog, at this moment, which leaves the closed sprint's chart as it was."""
    if story.status != "done" or cleaned.get("status", "done") == "done":
        return None
    sprint = ctx.sprints.get(story.sprint_id) if story.sprint_id else None
    if sprint is None or sprint.state != "closed":
        return None
    wanted = cleaned.get("sprint", sprint)
    return sprint if wanted is not None and wanted.id == sprint.id else None


def reopened_to_backlog(ctx: ProjectContext, events: list[StoryEvent]) -> str | None:
    """The name of the closed sprint an update took a reopened story out of, if it did."""
    for event in events:
        if event.field == "sprint" and event.to_value is None and event.from_value:
            sprint = ctx.sprints.get(int(event.from_value))
            if sprint is not None and sprint.state == "closed":
                return sprint.name
    return None


def shown_value(ctx: ProjectContext, field: str, stored: str | None) -> Any:
    """A tracked field's stored event value as the API shows it: points and sprint as numbers,
    the assignee as an e-mail address, stage, status and role as keys."""
    if stored is None:
        return None
    if field in ("points", "sprint"):
        return int(stored)
    if field == "assignee":
        member = ctx.members.get(int(stored))
        return member.account.email if member else None
    return stored


def _assign_tracked(story: Story, field: str, value: Any) -> None:
    # The only place tracked attributes of an existing story are assigned.
    if field == "status":
        story.status = value
    elif field == "points":
        story.points = value
    elif field == "role":
        story.role = value
    elif field == "stage":
        story.stage_id = value.id if value is not None else None
    elif field == "sprint":
        story.sprint_id = value.id if value is not None else None
    elif field == "assignee":
        story.assignee_id = value.id if value is not None else None


def stale_error(
    session: Session, ctx: ProjectContext, story: Story, base_version: int
) -> StaleVersionError:
    """Build the message for an edit based on an old version: who changed what, and when."""
    who = "Someone"
    if story.updated_by_id is not None:
        member = ctx.members.get(story.updated_by_id)
        if member is not None:
            who = member.account.name
        else:
            account = session.get(Account, story.updated_by_id)
            who = account.name if account else who
    last_events = session.scalars(
        select(StoryEvent)
        .where(StoryEvent.story_id == story.id, StoryEvent.at == story.updated_at)
        .order_by(StoryEvent.id)
    ).all()
    last_texts = session.scalars(
        select(StoryTextChange.field)
        .where(StoryTextChange.story_id == story.id, StoryTextChange.at == story.updated_at)
        .order_by(StoryTextChange.id)
    ).all()
    what = "changed this"
    parts = [describe_change(ctx, e.field, e.from_value, e.to_value, e.by_id) for e in last_events]
    parts += [
        "renamed this" if field == "title" else f"edited its {field}"
        for field in sorted(last_texts, key=TEXT_FIELDS.index)
    ]
    if parts:
        what = "; ".join(parts)
    return StaleVersionError(
        f"{who} {what} since you opened it (you edited version {base_version}, it is now "
        f"version {story.version}). Your change was not saved: check theirs, then try again.",
        current_version=story.version,
    )


def display_value(ctx: ProjectContext, field: str, value: str | None) -> str:
    """Return a stored event value in words (a sprint's name, a person's name, a stage name)."""
    if value is None:
        return {
            "points": "unestimated",
            "sprint": "the backlog",
            "assignee": "nobody",
            "stage": "no stage",
            "role": "no role",
        }.get(field, "none")
    if field == "status":
        return STATUSES.get(value, value)
    if field == "role":
        return ROLES.get(value, value)
    if field == "stage":
        stage = ctx.stages.get(value)
        return stage.name if stage else value
    if field == "points":
        return f"{value} points" if value != "1" else "1 point"
    if field == "sprint":
        sprint = ctx.sprints.get(int(value))
        return sprint.name if sprint else f"sprint {value}"
    if field == "assignee":
        member = ctx.members.get(int(value))
        return member.account.name if member else "a former member"
    return value


def describe_change(
    ctx: ProjectContext, field: str, old: str | None, new: str | None, by_id: int | None = None
) -> str:
    """Describe one event in plain words: "moved this from In progress to Done"."""
    old_text, new_text = display_value(ctx, field, old), display_value(ctx, field, new)
    if field == "assignee" and new is not None and by_id is not None and new == str(by_id):
        return "took this" if old is None else f"took this over from {old_text}"
    if field in ("status", "sprint"):
        return f"moved this from {old_text} to {new_text}"
    if field == "points":
        return f"re-estimated this from {old_text} to {new_text}"
    if field == "assignee":
        return f"assigned this to {new_text}" if new else f"unassigned {old_text}"
    return f"changed its {field} from {old_text} to {new_text}"
