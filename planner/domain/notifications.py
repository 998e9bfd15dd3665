"""A person's inbox and e-mail choices: unread count, the list, marking read, per-kind modes,
and one-click unsubscribe."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from planner.delivery.fanout import KINDS, MODES
from planner.domain import NotFoundError, ValidationError
from planner.models import Account, EmailPreference, Notification, Project

PAGE = 50


def unread_count(session: Session, account: Account) -> int:
    return session.scalar(
        select(func.count(Notification.id)).where(
            Notification.account_id == account.id, Notification.read_at.is_(None)
        )
    )


@dataclass(frozen=True)
class InboxLine:
    note: Notification
    project_key: str


def inbox(
    session: Session, account: Account, *, before: int | None = None, unread_only: bool = False
) -> list[InboxLine]:
    """The latest notifications (a page of PAGE), newest first; `before` pages back by id."""
    query = (
        select(Notification, Project.key)
        .join(Project, Project.id == Notification.project_id)
        .where(Notification.account_id == account.id)
        .order_by(Notification.id.desc())
        .limit(PAGE)
    )
    if before is not None:
        query = query.where(Notification.id < before)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return [InboxLine(note, key) for note, key in session.execute(query)]


def find_notification(session: Session, account: Account, notification_id: int) -> Notification:
    note = session.scalar(
        select(Notification).where(
            Notification.id == notification_id, Notification.account_id == account.id
        )
    )
    if note is None:
        raise NotFoundError("You have no such notification.")
    return note


def mark_read(
    session: Session, account: Account, ids: Iterable[int] | None, *, now: datetime, read=True
) -> int:
    """Mark the account's notifications `ids` (None: all of them) read, or unread again."""
    query = update(Notification).where(Notification.account_id == account.id)
    if ids is not None:
        query = query.where(Notification.id.in_(list(ids)))
    query = query.where(
        Notification.read_at.is_(None) if read else Notification.read_at.is_not(None)
    )
    return session.execute(query.values(read_at=now if read else None)).rowcount


def email_choices(session: Session, account: Account) -> dict[str, str]:
    """kind -> the mode chosen, or "default" where the person made no choice."""
    chosen = {
        p.kind: p.mode
        for p in session.scalars(
            select(EmailPreference).where(EmailPreference.account_id == account.id)
        )
    }
    return {kind: chosen.get(kind, "default") for kind in KINDS}


def set_email_choices(session: Session, account: Account, values: Mapping[str, object]) -> None:
    """Save per-kind modes: immediate, daily, weekly, never, or default (forget the choice)."""
    errors = {}
    for kind, mode in values.items():
        if kind not in KINDS:
            errors[kind] = f"{kind!r} is not a kind of notification."
        elif mode != "default" and mode not in MODES:
            errors[kind] = f"Choose one of: default, {', '.join(MODES)}."
    if errors:
        raise ValidationError(errors)
    for kind, mode in values.items():
        row = session.get(EmailPreference, (account.id, kind))
        if mode == "default":
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(EmailPreference(account_id=account.id, kind=kind, mode=mode))
        else:
            row.mode = mode
    session.flush()


def unsubscribe(session: Session, account_id: int, kinds: Iterable[str]) -> Account | None:
    """Stop e-mail of `kinds` for an account (what the link in every e-mail does)."""
    account = session.get(Account, account_id)
    if account is None:
        return None
    set_email_choices(session, account, {k: "never" for k in kinds if k in KINDS})
    return account
