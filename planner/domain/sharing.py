"""Read-only share links to the stakeholder dashboard (only a digest of each token is kept), and
when anything the dashboard shows last changed."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from planner.domain import DomainError, ValidationError, date_value, required_text
from planner.inputs import TEXT_LIMITS
from planner.models import (
    Account,
    Membership,
    Milestone,
    MilestoneForecast,
    Project,
    Risk,
    ShareLink,
    Story,
)
from planner.timeutil import local_date


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_share_link(
    session: Session,
    project: Project,
    label: str,
    *,
    by_id: int | None,
    now: datetime,
    expires_on: object = None,
) -> tuple[ShareLink, str]:
    """Create a read-only link to the dashboard; return it and its token (shown only once). The
    link opens the dashboard through its expiry date (a local day of the project; none: no
    expiry), and only while its creator is active and keeps manage access (docs/rules.md)."""
    errors: dict[str, str] = {}
    text, problem = required_text(
        label, max_len=TEXT_LIMITS["name"], empty="Say who the link is for."
    )
    if problem:
        errors["label"] = problem
    expiry, problem = date_value(expires_on, required=False)
    if problem:
        errors["expires_on"] = problem
    elif expiry is not None and expiry < local_date(now, project.timezone):
        errors["expires_on"] = f"{expiry.isoformat()} has passed: give a day from today on."
    if errors:
        raise ValidationError(errors)
    token = secrets.token_urlsafe(24)
    link = ShareLink(
        project_id=project.id,
        label=text,
        token_hash=_digest(token),
        prefix=token[:8],
        created_by_id=by_id,
        created_at=now,
        expires_on=expiry,
    )
    session.add(link)
    session.flush()
    return link, token


def share_links_of(session: Session, project: Project) -> list[ShareLink]:
    return list(
        session.scalars(
            select(ShareLink)
            .where(ShareLink.project_id == project.id)
            .order_by(ShareLink.created_at.desc(), ShareLink.id.desc())
        )
    )


def revoke_share_link(session: Session, link: ShareLink, *, now: datetime) -> None:
    if link.revoked_at is not None:
        raise DomainError("That link was already revoked.")
    link.revoked_at = now
    session.flush()


def link_state(link: ShareLink, creator_can_share: bool, today: date) -> str:
    """live, revoked, expired, or stopped (its creator was deactivated or lost manage access)."""
    if link.revoked_at is not None:
        return "revoked"
    if link.expires_on is not None and link.expires_on < today:
        return "expired"
    if not creator_can_share:
        return "stopped"
    return "live"


def sharers(session: Session, project: Project) -> set[int]:
    """The accounts whose links may open the project's dashboard: active, with manage access."""
    return set(
        session.scalars(
            select(Membership.account_id)
            .join(Account, Account.id == Membership.account_id)
            .where(
                Membership.project_id == project.id,
                Membership.access == "manage",
                Account.is_active_account.is_(True),
            )
        )
    )


def project_for_token(session: Session, token: str, *, now: datetime) -> Project | None:
    """The project a live share link opens, or None: unknown, revoked, expired, or made by
    someone who is no longer an active manager of the project. One query."""
    if not token or len(token) > 100 or not token.isascii():
        return None
    row = session.execute(
        select(Project, ShareLink)
        .join(ShareLink, ShareLink.project_id == Project.id)
        .join(
            Membership,
            (Membership.project_id == Project.id)
            & (Membership.account_id == ShareLink.created_by_id)
            & (Membership.access == "manage"),
        )
        .join(Account, (Account.id == ShareLink.created_by_id) & Account.is_active_account)
        .where(ShareLink.token_hash == _digest(token), ShareLink.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    project, link = row
    if link_state(link, True, local_date(now, project.timezone)) != "live":
        return None
    return project


def last_change(session: Session, project: Project) -> datetime | None:
    """When anything the dashboard shows last changed (stories, forecasts, risks): one query."""
    row = session.execute(
        select(
            select(func.max(Story.updated_at))
            .where(Story.project_id == project.id)
            .scalar_subquery(),
            select(func.max(MilestoneForecast.created_at))
            .join(Milestone, Milestone.id == MilestoneForecast.milestone_id)
            .where(Milestone.project_id == project.id)
            .scalar_subquery(),
            select(func.max(Risk.updated_at))
            .where(Risk.project_id == project.id)
            .scalar_subquery(),
        )
    ).one()
    moments = [c for c in row if c is not None]
    return max(moments) if moments else None
