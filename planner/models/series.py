"""Stored sprint series: a closed sprint's numbers, computed once and read back (docs/rules.md,
"Stored series")."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from planner.models.base import Base, UTCDateTime
from planner.timeutil import utcnow


class StoredSeries(Base):
    """What the sweep returned for one closed sprint (or, for an active sprint, its state at the
    end of `through`), with what it was computed from.

    The row is used only while all of these still hold: `rules_version` is planner's current one;
    no story_event newer than `last_event_id`, no title edit newer than `last_title_id` and no
    story newer than `last_story_id` concerns the stories ever in the sprint (an active sprint's
    row also takes events newer than `last_event_id` dated after `through`: it sweeps them); and
    `inputs` is still the fingerprint of the rest (calendar, sprint dates and moments, project key).
    Anything else rebuilds it; planner never trusts a row it cannot check.
    """

    __tablename__ = "sprint_series"

    sprint_id: Mapped[int] = mapped_column(
        ForeignKey("sprint.id", ondelete="CASCADE"), primary_key=True
    )
    rules_version: Mapped[int] = mapped_column(Integer)
    last_event_id: Mapped[int] = mapped_column(Integer)  # 0: the sprint's stories had no event
    # The highest title edit and story id of the stories ever in the sprint when computed (the
    # check asks whether a newer one exists); None in a row of the first format.
    last_title_id: Mapped[int | None] = mapped_column(Integer)
    last_story_id: Mapped[int | None] = mapped_column(Integer)
    inputs: Mapped[str] = mapped_column(String(64))  # sha256 hex, planner.domain.series.inputs_of
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # JSON, planner.domain.series.dump: the days, moments and totals, and the scope changes'
    # count and per-day summary (all a burndown or velocity read decodes).
    payload: Mapped[str] = mapped_column(Text)
    # The scope changes, one JSON array a line (ASCII bytes), read a page at a time with substr()
    # (on bytes, PostgreSQL reads only the slice asked for of an uncompressed value).
    changes: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The stories at the commitment and at the last day's moment (JSON), read when asked for.
    stories: Mapped[str | None] = mapped_column(Text)
    # An active sprint's row: the sweep's state at the end of `through`, its last completed day
    # (JSON, planner.domain.series); None for a closed sprint's row.
    state: Mapped[str | None] = mapped_column(Text)
    through: Mapped[date | None] = mapped_column(Date)
