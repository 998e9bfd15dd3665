"""Watchers and @mentions: who hears about a story.

A story's creator, its assignee and everyone who comments watch it automatically; anyone who can
see it may watch or unwatch it. `@handle` in a comment or a description names a project member:
the handle is the part of their e-mail address before the @ (docs/rules.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from planner.models import Account, Membership, StoryWatch

MENTION = re.compile(r"(?<![\w@.+-])@([A-Za-z0-9][A-Za-z0-9._+-]*)")


def handle_of(email: str) -> str:
    """The handle a person is @mentioned by: their e-mail address before the @, lower case."""
    return email.split("@", 1)[0].lower()


def mentioned_handles(text: str | None) -> set[str]:
    """The handles @mentioned in a text (a trailing full stop is not part of a handle)."""
    if not text:
        return set()
    return {m.group(1).rstrip(".").lower() for m in MENTION.finditer(text)}


def watch(session: Session, story_id: int, account_ids: Iterable[int | None], *, now: datetime):
    """Make each account watch the story (already watching is fine, also at the same moment)."""
    rows = [
        {"story_id": story_id, "account_id": a, "created_at": now}
        for a in dict.fromkeys(account_ids)
        if a is not None
    ]
    if not rows:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(StoryWatch).values(rows).on_conflict_do_nothing())


def unwatch(session: Session, story_id: int, account_id: int) -> None:
    session.execute(
        delete(StoryWatch).where(
            StoryWatch.story_id == story_id, StoryWatch.account_id == account_id
        )
    )


def is_watching(session: Session, story_id: int, account_id: int) -> bool:
    return (
        session.scalar(
            select(StoryWatch.account_id).where(
                StoryWatch.story_id == story_id, StoryWatch.account_id == account_id
            )
        )
        is not None
    )


def watchers_of(session: Session, story_id: int) -> list[Account]:
    return list(
        session.scalars(
            select(Account)
            .join(StoryWatch, StoryWatch.account_id == Account.id)
            .where(StoryWatch.story_id == story_id)
            .order_by(Account.name)
        )
    )


def mention_choices(memberships: Iterable[Membership]) -> list[dict[str, str]]:
    """The members a person may @mention, for the "@" suggestions: handle and name."""
    return sorted(
        (
            {"handle": handle_of(m.account.email), "name": m.account.name}
            for m in memberships
            if m.account.is_active_account
        ),
        key=lambda c: c["handle"],
    )
