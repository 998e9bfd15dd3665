"""Accounts: creation, passwords, sign-in checks."""

from __future__ import annotations

import functools
import re

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from planner.domain import DomainError, ValidationError, required_text
from planner.inputs import TEXT_LIMITS, storable
from planner.models import Account
from planner.models.account import new_session_token

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8
DEFAULT_HASH_METHOD = "scrypt"


def normalise_email(email: str) -> str:
    """Return the email trimmed and lowercased: emails identify people across imports."""
    return (email or "").strip().lower()


def check_email(email: str) -> str | None:
    """Return a message when `email` is not a usable address, else None."""
    if not email:
        return "Enter an email address."
    if len(email) > 254 or not storable(email) or not EMAIL_RE.match(email):
        return f"{email!r:.80} is not an email address."
    return None


def check_password_strength(password: str) -> str | None:
    """Return a message when `password` is too weak to accept, else None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    return None


def find_account(session: Session, email: str) -> Account | None:
    """Return the account with this email (any case), or None."""
    if not storable(email or ""):
        return None
    return session.scalar(select(Account).where(Account.email == normalise_email(email)))


def create_account(
    session: Session,
    *,
    email: str,
    name: str,
    password: str | None,
    is_admin: bool = False,
    hash_method: str = DEFAULT_HASH_METHOD,
) -> Account:
    """Add an account; a None password creates it without a usable password."""
    email = normalise_email(email)
    errors: dict[str, str] = {}
    if problem := check_email(email):
        errors["email"] = problem
    name, problem = required_text(name, max_len=TEXT_LIMITS["name"], empty="Enter a name.")
    if problem:
        errors["name"] = problem
    if password is not None and (problem := check_password_strength(password)):
        errors["password"] = problem
    if errors:
        raise ValidationError(errors)
    if find_account(session, email) is not None:
        raise DomainError(f"An account for {email} already exists.", field="email")
    account = Account(email=email, name=name, is_admin=is_admin)
    if password is not None:
        account.password_hash = generate_password_hash(password, method=hash_method)
    try:
        with session.begin_nested():  # two sign-ups for one address at once: one wins
            session.add(account)
            session.flush()
    except IntegrityError:
        raise DomainError(f"An account for {email} already exists.", field="email") from None
    return account


def set_password(
    account: Account, password: str, *, hash_method: str = DEFAULT_HASH_METHOD
) -> None:
    """Set a new password and rotate the session token, signing out other sessions."""
    if problem := check_password_strength(password):
        raise ValidationError({"password": problem})
    account.password_hash = generate_password_hash(password, method=hash_method)
    account.session_token = new_session_token()


def reset_password(
    account: Account, password: str, *, hash_method: str = DEFAULT_HASH_METHOD
) -> None:
    """A site admin sets someone's password; their other sessions are signed out."""
    if not isinstance(password, str) or not password:
        raise ValidationError({"password": "Enter a password."})
    set_password(account, password, hash_method=hash_method)


def set_active(session: Session, account: Account, active: bool, *, by: Account) -> None:
    """Deactivate an account (it can no longer sign in, its sessions end, its share links stop)
    or reactivate it. Nobody deactivates themselves, and a site keeps an active admin."""
    if not active and account.id == by.id:
        raise DomainError("You cannot deactivate your own account.")
    if not active and account.is_admin:
        _lock_admins(session, account)
        session.refresh(account, ["is_admin", "is_active_account"])
        if account.is_admin and account.is_active_account:
            others = session.scalar(
                select(func.count(Account.id)).where(
                    Account.is_admin.is_(True),
                    Account.is_active_account.is_(True),
                    Account.id != account.id,
                )
            )
            if not others:
                raise DomainError("The site needs at least one active site admin.")
    account.is_active_account = active
    end_sessions(account)


def _lock_admins(session: Session, account: Account) -> None:
    """Hold the active site admins' rows until the transaction ends, so that two admins
    deactivating each other at once cannot both succeed: SELECT ... FOR UPDATE on PostgreSQL
    (in id order, so two lockers never deadlock); on SQLite a no-op UPDATE of `account`, which
    takes the database's write lock."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(Account).where(Account.id == account.id).values(id=Account.id))
    else:
        session.execute(
            select(Account.id)
            .where(Account.is_admin.is_(True), Account.is_active_account.is_(True))
            .order_by(Account.id)
            .with_for_update()
        )


def end_sessions(account: Account) -> None:
    """Sign the account out everywhere: its sessions and remember cookies carry a token that
    no longer matches."""
    account.session_token = new_session_token()


def authenticate(session: Session, email: str, password: str) -> Account | None:
    """Return the active account these credentials belong to, or None."""
    account = find_account(session, email)
    if account is None or not account.password_hash or not account.is_active_account:
        # Spend the same time as a real check so timing does not reveal which emails exist.
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not check_password_hash(account.password_hash, password or ""):
        return None
    return account


def count_accounts(session: Session) -> int:
    """Return how many accounts exist."""
    return session.scalar(select(func.count(Account.id))) or 0


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash("planner-timing-equaliser", method=DEFAULT_HASH_METHOD)
