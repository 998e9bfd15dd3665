"""A sprint's scope changes in pieces a reader can take: a page of the list, and a summary per
day that counts every change (docs/rules.md, "Sprint charts").

A big sprint can have tens of thousands of scope changes. The burndown API answers a page of
them (`scope_limit`, `scope_offset`) with the total and the per-day summary; the report and
sprint pages list the first `PAGE_ROWS` and the per-day summary; the CSV download has them all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from planner.domain import ValidationError, parse_id
from planner.metrics import ScopeChange

LIMIT_DEFAULT, LIMIT_MAX = 100, 1000  # the API's page of scope changes
PAGE_ROWS = 50  # rows the report and sprint pages list before "and N more"
KINDS = ("added", "removed", "re-estimated")


@dataclass(frozen=True)
class DaySummary:
    """The scope changes of one sprint day: how many of each kind, and their signed points
    (added +p, removed -p, re-estimated new - old, as in the list)."""

    day: date
    added: int = 0
    removed: int = 0
    re_estimated: int = 0
    points_added: int = 0
    points_removed: int = 0
    points_re_estimated: int = 0

    @property
    def points(self) -> int:
        return self.points_added + self.points_removed + self.points_re_estimated

    def as_json(self) -> dict:
        return {
            "day": self.day.isoformat(),
            "added": self.added,
            "removed": self.removed,
            "re_estimated": self.re_estimated,
            "points_added": self.points_added,
            "points_removed": self.points_removed,
            "points_re_estimated": self.points_re_estimated,
            "points": self.points,
        }

    def sentence(self) -> str:
        return f"{self.day.isoformat()}: {self.counts()}"

    def counts(self) -> str:
        parts = []
        for count, kind, points in (
            (self.added, "added", self.points_added),
            (self.removed, "removed", self.points_removed),
            (self.re_estimated, "re-estimated", self.points_re_estimated),
        ):
            if count:
                parts.append(f"{count:,} {kind} ({points:+,d} points)")
        return f"{', '.join(parts)}; net {self.points:+,d} points"


def per_day(changes: Sequence[ScopeChange]) -> list[DaySummary]:
    """One DaySummary for each day that has a scope change, earliest day first (a stored
    series' list carries it already: planner.domain.series.StoredList.summary)."""
    known = getattr(changes, "summary", None)
    if known is not None:
        return list(known)
    counts: dict[date, dict[str, int]] = {}
    for c in changes:
        row = counts.setdefault(c.day, {})
        name = c.change.replace("-", "_")
        row[name] = row.get(name, 0) + 1
        row[f"points_{name}"] = row.get(f"points_{name}", 0) + c.points
    return [DaySummary(day, **counts[day]) for day in sorted(counts)]


def change_json(c: ScopeChange) -> dict:
    return {"day": c.day.isoformat(), "story": c.story, "change": c.change, "points": c.points}


def page_args(args: Mapping[str, str]) -> tuple[int, int]:
    """`scope_limit` (1 to LIMIT_MAX, default LIMIT_DEFAULT) and `scope_offset` (0 or more,
    default 0) of a query string; anything else is a ValidationError naming the field."""
    limit, offset = LIMIT_DEFAULT, 0
    errors = {}
    if args.get("scope_limit") is not None:
        number = parse_id(args["scope_limit"])
        if number is None or not 1 <= number <= LIMIT_MAX:
            errors["scope_limit"] = f"Ask for 1 to {LIMIT_MAX} scope changes a page."
        else:
            limit = number
    if args.get("scope_offset") is not None:
        number = parse_id(args["scope_offset"])
        if number is None:
            errors["scope_offset"] = "Send a whole number, 0 or more."
        else:
            offset = number
    if errors:
        raise ValidationError(errors)
    return limit, offset


READ_WHOLE = 1_000  # up to this many, a stored list is read in one go (one query, quick to decode)


def first_of_each_day(changes: Sequence[ScopeChange], limit: int) -> list[tuple[DaySummary, list]]:
    """Each day that has scope changes, with its summary and its first `limit` changes. A stored
    list is read one slice per day (its summary gives where each day begins: the list is in
    time order), so a day of 10,000 changes decodes `limit` of them, not all; a list of up to
    READ_WHOLE changes is read whole, in one query."""
    days = per_day(changes)
    if getattr(changes, "summary", None) is None or len(changes) <= READ_WHOLE:
        firsts: dict[date, list] = {}
        for c in changes:
            kept = firsts.setdefault(c.day, [])
            if len(kept) < limit:
                kept.append(c)
        return [(d, firsts[d.day]) for d in days]
    result, offset = [], 0
    for d in days:
        count = d.added + d.removed + d.re_estimated
        result.append((d, list(changes[offset : offset + min(count, limit)])))
        offset += count
    return result
