"""Which stories a list shows: one set of filters for the backlog page and the API, applied in
SQL so that a page of results is a page of matches.

Filters: stage, role and epic (a key, or "none"), type, assignee (an account id, a member's
e-mail, "me" or "none") and q (words the title contains, in any case, or a story key)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import ColumnElement, func

from planner.domain import ValidationError, parse_id
from planner.domain.context import ProjectContext
from planner.models import Story
from planner.vocab import ROLES, STORY_TYPES

FILTERS = ("stage", "role", "epic", "type", "assignee", "q")


def read_filters(ctx: ProjectContext, args: Mapping, *, strict: bool = False) -> dict[str, str]:
    """The filters of a query string that name something of this project. Unknown values are
    dropped (pages) or refused with a message per filter (`strict`, the API)."""
    kept: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name in FILTERS:
        value = (args.get(name) or "").strip()
        if not value:
            continue
        if name == "assignee" and "@" in value:
            member = ctx.member_by_email(value)
            value = str(member.account_id) if member else value
        if name == "q" or value in _allowed(ctx, name):
            kept[name] = value
        else:
            errors[name] = f"{ctx.project.key} has no {name} {value!r:.60}."
    if strict and errors:
        raise ValidationError(errors)
    return kept


def _allowed(ctx: ProjectContext, name: str) -> set[str]:
    return {
        "stage": set(ctx.stages) | {"none"},
        "role": set(ROLES) | {"none"},
        "epic": set(ctx.epics) | {"none"},
        "type": set(STORY_TYPES),
        "assignee": {str(i) for i in ctx.members} | {"none", "me"},
    }[name]


def filter_clauses(ctx: ProjectContext, filters: Mapping[str, str], me: int) -> list[ColumnElement]:
    """SQL conditions on Story for `filters` (as read_filters returns them)."""
    clauses: list[ColumnElement] = []
    for name, value in filters.items():
        if name == "stage":
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
