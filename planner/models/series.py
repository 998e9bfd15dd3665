"""Stored sprint series: a closed sprint's numbers, computed once and read back (docs/rules.md,
"Stored series")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from planner.models.base import Base, UTCDateTime
from planner.timeutil import utcnow


class StoredSeries(Base):
    """What the sweep returned for one closed sprint, with what it was computed from.

    The row is used only while all three still hold: `rules_version` is planner's current one,
    `last_event_id` is still the highest story_event id of the stories ever in the sprint, and
    `inputs` is still the fingerprint of the rest (calendar, sprint dates and moments, project key,
    last title edit). Anything else rebuilds it; planner never trusts a row it cannot check.
    """

    __tablename__ = "sprint_series"

    sprint_id: Mapped[int] = mapped_column(
        ForeignKey("sprint.id", ondelete="CASCADE"), primary_key=True
    )
    rules_version: Mapped[int] = mapped_column(Integer)
    last_event_id: Mapped[int] = mapped_column(Integer)  # 0: the sprint's stories had no event
    inputs: Mapped[str] = mapped_column(String(64))  # sha256 hex, planner.domain.series.inputs_of
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    payload: Mapped[str] = mapped_column(Text)  # JSON, planner.domain.series.dump
