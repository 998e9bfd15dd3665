"""The ML risk register: create and edit risks, list them, their linked stories, and their history.

History (docs/rules.md, "Risks"): creating a risk writes one RiskChange per field of
RISK_HISTORY_FIELDS that it is created with (from_value null); every later change writes one row
per field whose value changed, in the same transaction. Values are written as the risk API writes
the field: keys for category and status, "1".."5", YYYY-MM-DD, the owner's e-mail, the
milestone's id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from planner.domain import (
    ValidationError,
    date_value,
    outbox,
    parse_id,
    required_text,
    take_texts,
)
from planner.domain.context import ProjectContext, lock_project
from planner.forecasting import risk_level
from planner.inputs import TEXT_LIMITS
from planner.models import Account, Milestone, Project, Risk, RiskChange, Story, risk_story
from planner.models.evidence import RISK_HISTORY_FIELDS
from planner.vocab import RISK_CATEGORIES, RISK_STATUSES


def risks_of(session: Session, project: Project) -> list[Risk]:
    return list(
        session.scalars(
            select(Risk)
            .where(Risk.project_id == project.id)
            .options(selectinload(Risk.stories), selectinload(Risk.owner))
            .order_by((Risk.likelihood * Risk.impact).desc(), Risk.id)
        )
    )


def _int_1_to_5(value: Any) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    if isinstance(value, bool) or not 1 <= number <= 5:
        return None
    return number


def _clean_risk(session: Session, ctx: ProjectContext, values: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    if "title" in values:
        title, problem = required_text(
            values["title"], max_len=TEXT_LIMITS["title"], empty="Enter a title."
        )
        if problem:
            errors["title"] = problem
        else:
            cleaned["title"] = title
    take_texts(values, {"description": "description", "mitigation": "long"}, cleaned, errors)
    if "category" in values:
        if values["category"] not in RISK_CATEGORIES:
            errors["category"] = f"Choose a category: {', '.join(RISK_CATEGORIES)}."
        else:
            cleaned["category"] = values["category"]
    for field in ("likelihood", "impact"):
        if field in values:
            number = _int_1_to_5(values[field])
            if number is None:
                errors[field] = f"{field.capitalize()} is a whole number from 1 to 5."
            else:
                cleaned[field] = number
    if "status" in values:
        if values["status"] not in RISK_STATUSES:
            errors["status"] = f"Choose a status: {', '.join(RISK_STATUSES)}."
        else:
            cleaned["status"] = values["status"]
    if "owner" in values:
        raw = values["owner"]
        if raw in (None, ""):
            cleaned["owner_id"] = None
        elif parse_id(raw) in ctx.members:
            cleaned["owner_id"] = parse_id(raw)
        elif isinstance(raw, str) and (member := ctx.member_by_email(raw)) is not None:
            cleaned["owner_id"] = member.account_id
        else:
            errors["owner"] = f"The owner must be a member of {ctx.project.key}."
    if "milestone" in values:
        raw = values["milestone"]
        if raw in (None, ""):
            cleaned["milestone_id"] = None
        else:
            found = session.scalar(
                select(Milestone.id).where(
                    Milestone.project_id == ctx.project.id,
                    Milestone.id == (parse_id(raw) or -1),
                )
            )
            if found is None:
                errors["milestone"] = f"{ctx.project.key} has no such milestone."
            else:
                cleaned["milestone_id"] = found
    if "review_on" in values:
        cleaned["review_on"], problem = date_value(values["review_on"], required=False)
        if problem:
            errors["review_on"] = problem
    if "stories" in values:
        raw = values["stories"]
        keys = raw.replace(",", " ").split() if isinstance(raw, str) else list(raw or [])
        numbers, bad = [], []
        for key in keys:
            prefix, _, tail = str(key).upper().rpartition("-")
            if prefix == ctx.project.key and parse_id(tail) is not None:
                numbers.append(parse_id(tail))
            elif parse_id(str(key)) is not None:
                numbers.append(parse_id(str(key)))
            else:
                bad.append(str(key))
        found = {}
        if numbers:
            found = {
                s.number: s
                for s in session.scalars(
                    select(Story).where(
                        Story.project_id == ctx.project.id, Story.number.in_(numbers)
                    )
                )
            }
        missing = bad + [f"{ctx.project.key}-{n}" for n in numbers if n not in found]
        if missing:
            errors["stories"] = f"{ctx.project.key} has no story {missing[0]}."
        cleaned["stories"] = [found[n] for n in dict.fromkeys(numbers) if n in found]
    if errors:
        raise ValidationError(errors)
    return cleaned


def create_risk(
    session: Session,
    ctx: ProjectContext,
    values: Mapping[str, Any],
    *,
    now: datetime,
    by: Account | None = None,
) -> Risk:
    """Add a risk to the register."""
    cleaned = _clean_risk(
        session,
        ctx,
        {"title": "", "category": "", "likelihood": "", "impact": "", "status": "open", **values},
    )
    stories = cleaned.pop("stories", [])
    risk = Risk(project_id=ctx.project.id, created_at=now, updated_at=now, **cleaned)
    risk.stories = stories
    session.add(risk)
    session.flush()
    _record_history(session, risk, {}, _history_values(session, ctx, risk), by=by, now=now)
    _risk_changed(session, ctx.project, risk, None, by=by, now=now)
    return risk


def _risk_changed(
    session: Session,
    project: Project,
    risk: Risk,
    old_level: str | None,
    *,
    by: Account | None,
    now: datetime,
) -> None:
    """risk.changed: a risk was added (old_level None) or its level moved."""
    outbox.emit(
        session,
        project,
        "risk.changed",
        {"risk": outbox.risk_data(project, risk), "old_level": old_level, "created": not old_level},
        by=by,
        now=now,
    )


def update_risk(
    session: Session,
    ctx: ProjectContext,
    risk: Risk,
    values: Mapping[str, Any],
    *,
    now: datetime,
    by: Account | None = None,
) -> None:
    """Change any field of a risk."""
    cleaned = _clean_risk(session, ctx, values)
    stories = cleaned.pop("stories", None)
    if stories is not None:
        # Two saves at once must not both add the same link: decide under the project's lock
        # (taken before anything is written), against the links as they are now.
        lock_project(session, ctx.project)
    old_level = risk_level(risk.likelihood, risk.impact)
    before = _history_values(session, ctx, risk)
    for key, value in cleaned.items():
        setattr(risk, key, value)
    if stories is not None:
        session.refresh(risk, ["stories"])
        risk.stories = stories
    risk.updated_at = now
    session.flush()
    _record_history(session, risk, before, _history_values(session, ctx, risk), by=by, now=now)
    if risk_level(risk.likelihood, risk.impact) != old_level:
        _risk_changed(session, ctx.project, risk, old_level, by=by, now=now)


def _history_values(session: Session, ctx: ProjectContext, risk: Risk) -> dict[str, str | None]:
    """The risk's tracked fields as history text (as the risk API writes them)."""
    owner = None
    if risk.owner_id is not None:
        member = ctx.members.get(risk.owner_id)
        account = member.account if member else session.get(Account, risk.owner_id)
        owner = account.email if account else str(risk.owner_id)
    values = {
        "title": risk.title,
        "category": risk.category,
        "likelihood": str(risk.likelihood),
        "impact": str(risk.impact),
        "status": risk.status,
        "mitigation": risk.mitigation,
        "owner": owner,
        "review_on": risk.review_on.isoformat() if risk.review_on else None,
        "milestone": str(risk.milestone_id) if risk.milestone_id is not None else None,
    }
    return {field: values[field] for field in RISK_HISTORY_FIELDS}


def _record_history(
    session: Session,
    risk: Risk,
    before: Mapping[str, str | None],
    after: Mapping[str, str | None],
    *,
    by: Account | None,
    now: datetime,
) -> None:
    """Append one RiskChange per field whose value differs (every set field on creation)."""
    by_id = by.id if by is not None and getattr(by, "is_authenticated", True) else None
    for field in RISK_HISTORY_FIELDS:
        old, new = before.get(field), after.get(field)
        if old != new:
            session.add(
                RiskChange(
                    risk_id=risk.id, field=field, from_value=old, to_value=new, at=now, by_id=by_id
                )
            )
    session.flush()


def risk_history(session: Session, risk_ids: Iterable[int]) -> dict[int, list[RiskChange]]:
    """Each risk's changes, oldest first, with who made them, in one query."""
    wanted = list(risk_ids)
    history: dict[int, list[RiskChange]] = {}
    if not wanted:
        return history
    for change in session.scalars(
        select(RiskChange)
        .where(RiskChange.risk_id.in_(wanted))
        .options(selectinload(RiskChange.by))
        .order_by(RiskChange.risk_id, RiskChange.at, RiskChange.id)
    ):
        history.setdefault(change.risk_id, []).append(change)
    return history


def risk_story_keys(session: Session, project: Project) -> dict[int, list[str]]:
    """Each risk's linked story keys, in one query."""
    keys: dict[int, list[str]] = {}
    for risk_id, number in session.execute(
        select(risk_story.c.risk_id, Story.number)
        .join(Story, Story.id == risk_story.c.story_id)
        .where(Story.project_id == project.id)
        .order_by(Story.number)
    ):
        keys.setdefault(risk_id, []).append(f"{project.key}-{number}")
    return keys


def delete_risk(session: Session, risk: Risk) -> None:
    """Take a risk off the register (closing it keeps its history; this does not)."""
    session.delete(risk)
    session.flush()
