"""Personal access tokens: what scripts, pipelines and notebooks send instead of a browser session.

A token is shown once, when it is made; planner keeps only its SHA-256 digest and its first
characters (to tell tokens apart in a list). A token acts as its owner, never more: a `read` token
may only read, and every token stops working when it is revoked, after its last day, or when its
owner is deactivated. The rules are in docs/rules.md ("API tokens").
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.domain import AccessDenied, NotFoundError, ValidationError, date_value, required_text
from planner.models import Account, ApiToken

TOKEN_SCOPES = {"read": "Read only", "write": "Read and write"}
TOKEN_NAME_MAX = 80
TOKEN_MARK = "plnr_"  # lets secret scanners and people recognise a planner token
PREFIX_LENGTH = 12
LAST_USED_GRANULARITY = timedelta(minutes=1)  # at most one write per token per minute


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def expiry_moment(last_day: date) -> datetime:
    """A token works through its last day (UTC): it expires at the next midnight UTC."""
    return datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=UTC)


def create_token(
    session: Session,
    account: Account,
    *,
    name: object,
    scope: object = "write",
    expires_on: object = None,
    now: datetime,
) -> tuple[ApiToken, str]:
    """Make a token for `account`; return it with its secret, which is never stored."""
    errors: dict[str, str] = {}
    text, problem = required_text(
        name, max_len=TOKEN_NAME_MAX, empty="Name the token, for example: training pipeline."
    )
    if problem:
        errors["name"] = problem
    if scope not in TOKEN_SCOPES:
        errors["scope"] = f"The scope is one of {', '.join(TOKEN_SCOPES)}."
    last_day, problem = date_value(expires_on, required=False)
    if problem:
        errors["expires_on"] = problem
    elif last_day is not None and expiry_moment(last_day) <= now:
        errors["expires_on"] = "Choose today or a later day as the token's last day."
    if errors:
        raise ValidationError(errors)
    if not account.is_active_account:
        raise AccessDenied(f"{account.email} is deactivated; its tokens would not work.")
    secret = TOKEN_MARK + secrets.token_urlsafe(32)
    token = ApiToken(
        account_id=account.id,
        name=text,
        token_hash=digest(secret),
        prefix=secret[:PREFIX_LENGTH],
        scope=scope,
        created_at=now,
        expires_at=expiry_moment(last_day) if last_day else None,
    )
    session.add(token)
    session.flush()
    return token, secret


def last_day(token: ApiToken) -> date | None:
    """The last day (UTC) a token works, as its owner chose it; None when it has no end."""
    return (token.expires_at - timedelta(days=1)).date() if token.expires_at else None


def tokens_of(session: Session, account: Account) -> list[ApiToken]:
    """The account's tokens, newest first, revoked ones included (they say when)."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.account_id == account.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_token(session: Session, token: ApiToken, *, now: datetime) -> None:
    """Stop the token from working, from this moment on (revoking twice changes nothing)."""
    if token.revoked_at is None:
        token.revoked_at = now
        session.flush()


def token_state(token: ApiToken, now: datetime) -> str:
    """'active', 'expired' or 'revoked' (revoked wins: it is the one a person chose)."""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


@dataclass(frozen=True)
class Bearer:
    """Who a request's token speaks for."""

    token: ApiToken
    account: Account
    recorded_use: bool = False  # authenticate() wrote the token's last use (commit it)

    @property
    def read_only(self) -> bool:
        return self.token.scope != "write"


class TokenRefused(Exception):
    """The token is unknown, revoked, expired, or its owner is deactivated (401)."""


def authenticate(session: Session, secret: str, *, now: datetime) -> Bearer:
    """Find the token `secret` and its owner, or raise TokenRefused saying why. Records when the
    token was last used (to the minute, so a busy script does not write on every call)."""
    row = session.execute(
        select(ApiToken, Account)
        .join(Account, Account.id == ApiToken.account_id)
        .where(ApiToken.token_hash == digest(secret))
    ).first()
    if row is None:
        raise TokenRefused("The token is not known to this planner.")
    token, account = row
    state = token_state(token, now)
    if state != "active":
        raise TokenRefused(f"The token was {state}; make a new one on your account page.")
    if not account.is_active_account:
        raise TokenRefused("The token's owner is deactivated.")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_GRANULARITY:
        token.last_used_at = now
        session.flush()
        return Bearer(token, account, recorded_use=True)
    return Bearer(token, account)


def find_token(session: Session, token_id: int, *, owner: Account | None = None) -> ApiToken:
    """The token `token_id` (of `owner`, when given: someone else's token is not found)."""
    token = session.get(ApiToken, token_id)
    if token is None or (owner is not None and token.account_id != owner.id):
        raise NotFoundError(f"There is no token {token_id}.")
    return token
