"""Which stories a list shows: one set of filters for the Stories list, the backlog, the board
and the API, applied in SQL so that a page of results is a page of matches.

Filters: status (a status, "open" for not done, or "all"), stage, role and epic (a key, or
"none"), type, assignee (an account id, a member's e-mail, "me" or "none"), sprint (a sprint id,
or "backlog" for none), label (a label's name) and q (words the title contains, in any case, or
a story key). Each page reads the filters it offers; a value naming nothing of the project is
dropped with a message saying which (pages) or refused (`strict`, the API)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import object_session

from planner.domain import ValidationError, parse_id
from planner.domain.context import ProjectContext
from planner.domain.labels import project_labels
from planner.models import Label, Story, story_label
from planner.vocab import ROLES, STATUSES, STORY_TYPES

FILTERS = ("status", "stage", "role", "type", "assignee", "epic", "sprint", "label", "q")
# The board shows one sprint in status columns: it filters on neither.
BOARD_FILTERS = tuple(f for f in FILTERS if f not in ("status", "sprint"))
# The backlog shows its sprints as sections, and done stories of running sprints.
BACKLOG_FILTERS = BOARD_FILTERS
# The API reads status and sprint itself (with its own messages).
API_FILTERS = BOARD_FILTERS
STATUS_CHOICES = {"open": "Not done", **STATUSES, "all": "Any status"}
_NAMES = {"q": "search", "type": "story type"}


def check_filters(
    ctx: ProjectContext,
    args: Mapping,
    *,
    only: Collection[str] = FILTERS,
    labels: Collection[str] | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """Return (the filters of a query string that name something of this project, a message per
    filter that does not). `labels` are the project's label names (looked up when not given)."""
    kept: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name in FILTERS:
        if name not in only:
            continue
        value = " ".join(str(args.get(name) or "").split())
        if not value:
            continue
        if name == "assignee" and "@" in value:
            member = ctx.member_by_email(value)
            value = str(member.account_id) if member else value
        if name == "label":
            if labels is None:
                labels = project_label_names(ctx)
            # The exact name first: "GDPR" and "gdpr" may both exist; any case otherwise.
            if value not in labels:
                value = next((n for n in labels if n.lower() == value.lower()), value)
            allowed: Collection[str] = labels
        else:
            allowed = _allowed(ctx, name)
        if name == "q" or value in allowed:
            kept[name] = value
        else:
            errors[name] = f"{ctx.project.key} has no {_NAMES.get(name, name)} {value!r:.60}."
    return kept, errors


def read_filters(
    ctx: ProjectContext, args: Mapping, *, strict: bool = False, only: Collection[str] = FILTERS
) -> dict[str, str]:
    """The filters of a query string that name something of this project. Unknown values are
    dropped (pages) or refused with a message per filter (`strict`, the API)."""
    kept, errors = check_filters(ctx, args, only=only)
    if strict and errors:
        raise ValidationError(errors)
    return kept


def filter_query(filters: Mapping[str, str]) -> str:
    """The filters as a query string, in the one order of FILTERS (how saved views keep them)."""
    return urlencode([(name, filters[name]) for name in FILTERS if filters.get(name)])


def project_label_names(ctx: ProjectContext) -> list[str]:
    return [label.name for label in label_choices(ctx)]


def label_choices(ctx: ProjectContext) -> list[Label]:
    """The project's labels, A to Z, for a label filter's choices (one query)."""
    return project_labels(object_session(ctx.project), ctx.project)


def _allowed(ctx: ProjectContext, name: str) -> Collection[str]:
    if name == "status":
        return STATUS_CHOICES
    if name == "stage":
        return set(ctx.stages) | {"none"}
    if name == "role":
        return set(ROLES) | {"none"}
    if name == "epic":
        return set(ctx.epics) | {"none"}
    if name == "type":
        return STORY_TYPES
    if name == "assignee":
        return {str(i) for i in ctx.members} | {"none", "me"}
    if name == "sprint":
        return {str(i) for i in ctx.sprints} | {"backlog"}
    return ()


def filter_clauses(ctx: ProjectContext, filters: Mapping[str, str], me: int) -> list[ColumnElement]:
    """SQL conditions on Story for `filters` (as read_filters returns them)."""
    clauses: list[ColumnElement] = []
    for name, value in filters.items():
        if name == "status":
            if value == "open":
                clauses.append(Story.status != "done")
            elif value != "all":
                clauses.append(Story.status == value)
        elif name == "stage":
            stage = ctx.stages.get(value)
            clauses.append(
                Story.stage_id.is_(None) if stage is None else Story.stage_id == stage.id
            )
        elif name == "epic":
            epic = ctx.epics.get(value)
            clauses.append(Story.epic_id.is_(None) if epic is None else Story.epic_id == epic.id)
        elif name == "role":
            clauses.append(Story.role.is_(None) if value == "none" else Story.role == value)
        elif name == "type":
            clauses.append(Story.type == value)
        elif name == "assignee":
            if value == "none":
                clauses.append(Story.assignee_id.is_(None))
            else:
                clauses.append(Story.assignee_id == (me if value == "me" else int(value)))
        elif name == "sprint":
            sprint_id = parse_id(value)
            clauses.append(
                Story.sprint_id.is_(None) if sprint_id is None else Story.sprint_id == sprint_id
            )
        elif name == "label":
            clauses.append(
                Story.id.in_(
                    select(story_label.c.story_id)
                    .join(Label, Label.id == story_label.c.label_id)
                    .where(Label.project_id == ctx.project.id, Label.name == value)
                )
            )
        elif name == "q":
            clauses.append(_text_or_key(ctx, value))
    return clauses


def _text_or_key(ctx: ProjectContext, words: str) -> ColumnElement:
    in_title = func.lower(Story.title).contains(words.lower(), autoescape=True)
    # A Jira key an import kept (the story's "imported from" reference) finds the story too.
    in_title = in_title | (Story.external_ref == words.strip().upper())
    prefix, _, tail = words.upper().rpartition("-")
    number = parse_id(tail) if prefix == ctx.project.key else None
    return in_title | (Story.number == number) if number is not None else in_title
