"""The rules of planning. Functions take (session, values), raise DomainError and never commit:
the caller owns the transaction, so an operation and the history it writes land together."""

from __future__ import annotations

from datetime import date, datetime


def required_text(value: object, *, max_len: int, empty: str) -> tuple[str | None, str | None]:
    """Return (the trimmed text, None), or (None, a message) when it is missing or too long."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        return None, empty
    if len(text) > max_len:
        return None, f"Keep it under {max_len} characters."
    return text, None


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


def optional_text(value: object) -> str | None:
    """Return trimmed text, or None for anything empty or not text."""
    return (value.strip() or None) if isinstance(value, str) else None


def to_date(value: object) -> date | None:
    """Return a date from a date or a YYYY-MM-DD string, else None."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


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
