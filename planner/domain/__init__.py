"""The rules of planning. Functions take (session, values), raise DomainError and never commit:
the caller owns the transaction, so an operation and the history it writes land together."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from planner.inputs import TEXT_LIMITS, date_problem, text_problem

ONE_LINE = frozenset({"name", "title", "short"})


def required_text(
    value: object, *, max_len: int, empty: str, multiline: bool = False
) -> tuple[str | None, str | None]:
    """Return (the trimmed text, None), or (None, a message) when it is missing, too long or holds
    characters that cannot be stored (planner.inputs.text_problem decides)."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        return None, empty
    problem = text_problem(text, multiline=multiline, max_len=max_len)
    return (None, problem) if problem else (text, None)


def text_value(value: object, kind: str) -> tuple[str | None, str | None]:
    """Return (trimmed text or None when empty, None) or (None, a message) for optional free text
    of a kind in planner.inputs.TEXT_LIMITS: one line for "name", "title" and "short", several
    lines otherwise."""
    if value is None:
        return None, None
    if not isinstance(value, str):
        return None, "Enter text."
    text = value.strip()
    if not text:
        return None, None
    problem = text_problem(text, multiline=kind not in ONE_LINE, max_len=TEXT_LIMITS[kind])
    return (None, problem) if problem else (text, None)


def take_texts(
    values: Mapping[str, Any],
    kinds: Mapping[str, str],
    cleaned: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Clean each optional free-text field of `kinds` (field -> kind) that `values` holds, into
    `cleaned`, or its message into `errors`."""
    for field, kind in kinds.items():
        if field in values:
            text, problem = text_value(values[field], kind)
            if problem:
                errors[field] = problem
            else:
                cleaned[field] = text


MAX_ID = 2**31 - 1  # the largest value an INTEGER column holds on every supported database


def parse_id(value: object) -> int | None:
    """Return a non-negative whole number that fits the database (from an int or digits), else
    None, so an absurd number from a form or URL is refused instead of overflowing a query."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif (
        isinstance(value, str)
        and value.strip().isascii()
        and value.strip().isdigit()
        and len(value.strip()) <= 10
    ):
        number = int(value.strip())
    else:
        return None
    return number if 0 <= number <= MAX_ID else None


def to_date(value: object) -> date | None:
    """Return a date from a date or a YYYY-MM-DD string, else None (no window check: see
    date_value for what users enter)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def date_value(
    value: object,
    *,
    required: bool = True,
    empty: str = "Enter a date as YYYY-MM-DD.",
    invalid: str | None = None,
) -> tuple[date | None, str | None]:
    """Return (the date, None) for a user-entered date inside planner's date window, (None, None)
    for an empty optional one, else (None, a message: `empty`, `invalid` or the window's)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, (empty if required else None)
    day = to_date(value)
    if day is None:
        return None, invalid or "Enter a date as YYYY-MM-DD."
    problem = date_problem(day)
    return (None, problem) if problem else (day, None)


class DomainError(Exception):
    """A planning rule was broken. Views flash it next to the field; the API answers 409."""

    status_code = 409
    code = "conflict"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    @property
    def details(self) -> dict[str, str]:
        return {self.field: self.message} if self.field else {}


class ValidationError(DomainError):
    """Values that cannot be accepted, with a message per field. The API answers 422."""

    status_code = 422
    code = "invalid"

    def __init__(self, errors: dict[str, str], message: str | None = None) -> None:
        first = next(iter(errors.values()), "Invalid values.")
        super().__init__(message or first)
        self.errors = errors

    @property
    def details(self) -> dict[str, str]:
        return dict(self.errors)


class StaleVersionError(DomainError):
    """An edit was based on a version of a story that someone else has changed since."""

    code = "stale_version"

    def __init__(self, message: str, *, current_version: int) -> None:
        super().__init__(message)
        self.current_version = current_version


class NotFoundError(Exception):
    """Nothing the caller may see exists under that name. Answered as 404."""


class AccessDenied(Exception):
    """The caller may see this but not change it. Answered as 403."""
