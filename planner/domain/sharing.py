"""Read-only share links to the stakeholder dashboard (only a digest of each token is kept), and
when anything the dashboard shows last changed."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from planner.domain import DomainError, ValidationError, required_text
from planner.models import Milestone, MilestoneForecast, Project, Risk, ShareLink, Story


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_share_link(
    session: Session, project: Project, label: str, *, by_id: int | None, now: datetime
) -> tuple[ShareLink, str]:
    """Create a read-only link to the dashboard; return it and its token (shown only once)."""
    text, problem = required_text(label, max_len=120, empty="Say who the link is for.")
    if problem:
        raise ValidationError({"label": problem})
    token = secrets.token_urlsafe(24)
    link = ShareLink(
        project_id=project.id,
        label=text,
        token_hash=_digest(token),
        prefix=token[:8],
        created_by_id=by_id,
        created_at=now,
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


def project_for_token(session: Session, token: str) -> Project | None:
    """The project a live share link opens, or None (unknown or revoked)."""
    if not token or len(token) > 100:
        return None
    return session.scalar(
        select(Project)
        .join(ShareLink, ShareLink.project_id == Project.id)
        .where(ShareLink.token_hash == _digest(token), ShareLink.revoked_at.is_(None))
    )


def last_change(session: Session, project: Project) -> datetime | None:
    """When anything the dashboard shows last changed (stories, forecasts, risks)."""
    candidates = [
        session.scalar(select(func.max(Story.updated_at)).where(Story.project_id == project.id)),
        session.scalar(
            select(func.max(MilestoneForecast.created_at))
            .join(Milestone, Milestone.id == MilestoneForecast.milestone_id)
            .where(Milestone.project_id == project.id)
        ),
        session.scalar(select(func.max(Risk.updated_at)).where(Risk.project_id == project.id)),
    ]
    moments = [c for c in candidates if c is not None]
    return max(moments) if moments else None
