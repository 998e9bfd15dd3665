"""The semantic pass's reader: takes values the shape pass accepted, checks what a schema cannot
(storable text, real dates in the date window, references), and records problems with their paths.
"""

from __future__ import annotations

from collections.abc import Container
from datetime import datetime
from typing import Any

from planner.domain import ONE_LINE
from planner.domain.accounts import normalise_email
from planner.inputs import TEXT_LIMITS, date_problem, datetime_problem, text_problem
from planner.interchange import Problem
from planner.interchange.schema import shown
from planner.timeutil import parse_iso_date, parse_iso_datetime

MISSING = object()  # a value refused (by either pass): the part that holds it is not planned


def ok(*values: Any) -> bool:
    return all(value is not MISSING for value in values)


def _ancestors(path: str):
    """'$.a[2].b' -> '$.a[2].b', '$.a[2]', '$.a', '$'."""
    while path:
        yield path
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""


class Checker:
    """Collects the semantic problems; every reader returns a value, or MISSING when the value is
    refused (by the shape pass, silently, or here, after recording why)."""

    def __init__(self, refused: set[str]) -> None:
        self.refused = refused
        # Every path the shape pass refused, and every path that holds one.
        self.tainted = {ancestor for path in refused for ancestor in _ancestors(path)}
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def take(self, path: str, value: Any) -> Any:
        """`value` as the document has it, or MISSING when the shape pass refused it or
        something inside it."""
        if path in self.tainted:
            return MISSING
        return value

    def obj(self, path: str, value: Any) -> dict | None:
        return value if isinstance(self.take(path, value), dict) else None

    def items(self, path: str, value: Any) -> list:
        """The entries of an optional list (null or absent is empty)."""
        return value if isinstance(value, list) and path not in self.refused else []

    def text(self, path: str, value: Any, *, kind: str, max_len: int | None = None) -> Any:
        """Free text by the rules every entry point applies (planner.inputs), stripped; an empty
        optional text is None. The schema has checked its type, emptiness and length."""
        value = self.take(path, value)
        if not isinstance(value, str):
            return value if value is None else MISSING
        stripped = value.strip()
        limit = max_len if max_len is not None else TEXT_LIMITS[kind]
        if problem := text_problem(stripped, multiline=kind not in ONE_LINE, max_len=limit):
            self.add(path, problem)
            return MISSING
        return stripped or None

    def a_date(self, path: str, value: Any) -> Any:
        value = self.take(path, value)
        if not isinstance(value, str):
            return value if value is None else MISSING
        try:
            day = parse_iso_date(value)
        except (ValueError, TypeError):
            self.add(path, f"{shown(value)} is not a date in the form YYYY-MM-DD")
            return MISSING
        if problem := date_problem(day):
            self.add(path, problem)
            return MISSING
        return day

    def a_timestamp(self, path: str, value: Any) -> Any:
        value = self.take(path, value)
        if not isinstance(value, str):
            return value if value is None else MISSING
        try:
            moment = parse_iso_datetime(value)
        except (ValueError, TypeError, OverflowError):
            self.add(path, _timestamp_problem(value))
            return MISSING
        if problem := datetime_problem(moment):
            self.add(path, problem)
            return MISSING
        return moment

    def ref(self, path: str, value: Any, known, message: str) -> Any:
        """A reference by name: None, a name in `known` (stripped), or a problem."""
        value = self.take(path, value)
        if value is None or value is MISSING:
            return value
        if not isinstance(value, str) or value.strip() not in known:
            self.add(path, message.format(value=shown(value)))
            return MISSING
        return value.strip()

    def member(self, path: str, value: Any, members: Container[str]) -> Any:
        value = self.take(path, value)
        if value is None or value is MISSING:
            return value
        if not isinstance(value, str) or normalise_email(value) not in members:
            self.add(path, f"unknown member {shown(value)} (not listed in $.members)")
            return MISSING
        return normalise_email(value)

    def stage(self, path: str, value: Any, stage_keys: list[str]) -> Any:
        stages = ", ".join(stage_keys)
        value = self.take(path, value)
        if value is None or value is MISSING:
            return value
        if not isinstance(value, str) or value not in stage_keys:
            self.add(path, f"unknown stage {shown(value)} (the project's stages are {stages})")
            return MISSING
        return value


def _timestamp_problem(value: str) -> str:
    """Say why parse_iso_datetime refused `value`: not a timestamp with an offset at all, or one
    so far out that converting it to UTC overflows (0001-01-01T00:00:00+14:00)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is not None and moment.tzinfo is not None:
        # Comparing aware moments cannot overflow where converting them can.
        if problem := datetime_problem(moment):
            return problem
    return f"{shown(value)} is not an ISO 8601 timestamp with an offset (like 2026-03-02T09:30:00Z)"
