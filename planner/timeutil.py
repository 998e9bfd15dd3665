"""Time in one place: UTC for storage, the project's timezone at the edges."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


def utcnow() -> datetime:
    """Return the current moment as an aware UTC datetime."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Return `value` in UTC; a naive value is taken to be UTC already (SQLite returns those)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@functools.cache
def _iana_names() -> frozenset[str]:
    # Only real IANA zone names, read once. available_timezones() also lists the files
    # "localtime" and "posixrules" (the server's own zone) and "Factory" (no zone at all); a path
    # is never in it. Any of them would make a project's calendar depend on the server.
    return frozenset(available_timezones()) - {"localtime", "posixrules", "Factory"}


def zone(name: str) -> ZoneInfo:
    """Return the ZoneInfo for an IANA name; raise ValueError with a readable message."""
    if not isinstance(name, str) or name not in _iana_names():
        raise ValueError(f"{name!r:.80} is not a known IANA timezone (for example Europe/Berlin)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: unusable file names
        raise ValueError(
            f"{name!r} is not a known IANA timezone (for example Europe/Berlin)"
        ) from exc


def is_timezone(name: str) -> bool:
    """Tell whether `name` is a known IANA timezone."""
    try:
        zone(name)
    except ValueError:
        return False
    return True


def timezone_names() -> list[str]:
    """Return the IANA timezone names, sorted, for pickers (exactly those `zone` accepts)."""
    return sorted(_iana_names())


def add_days(day: date, days: int) -> date:
    """Return `day` moved by `days`, saturating at the first and last representable dates instead
    of overflowing (stored data may hold dates from before planner bounded them)."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def local_date(moment: datetime, tz: str) -> date:
    """Return the calendar date of `moment` in the timezone `tz`."""
    return as_utc(moment).astimezone(zone(tz)).date()


def local_today(tz: str) -> date:
    """Today's date in the IANA timezone `tz` (a project's "today")."""
    return local_date(utcnow(), tz)


def local_midnight_after(day: date, tz: str) -> datetime:
    """Return the end of `day` (local midnight starting the next day) as a UTC datetime."""
    next_day = day + timedelta(days=1)
    return datetime.combine(next_day, time(0), tzinfo=zone(tz)).astimezone(UTC)


def local_start_of(day: date, tz: str) -> datetime:
    """Return the start of `day` (local midnight) as a UTC datetime."""
    return datetime.combine(day, time(0), tzinfo=zone(tz)).astimezone(UTC)


def parse_iso_datetime(text: str) -> datetime:
    """Parse an ISO 8601 timestamp that carries an offset (or Z); raise ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError("expected an ISO 8601 timestamp string")
    value = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset (write it like 2026-03-02T09:30:00Z)")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 lies before the first representable moment
        raise ValueError(f"{text!r:.60} is outside the range of dates planner works with") from None


def iso_utc(value: datetime | None) -> str | None:
    """Format an aware datetime as ISO 8601 in UTC with a Z suffix."""
    if value is None:
        return None
    return as_utc(value).isoformat().replace("+00:00", "Z")


def parse_iso_date(text: str) -> date:
    """Parse a YYYY-MM-DD date; raise ValueError otherwise."""
    if not isinstance(text, str) or len(text) != 10:
        raise ValueError(f"{text!r} is not a date in the form YYYY-MM-DD")
    return date.fromisoformat(text)
