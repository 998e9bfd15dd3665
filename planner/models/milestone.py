"""Milestones and the forecasts reported for them over time (the milestone trend analysis)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planner.models.base import Base, UTCDateTime
from planner.timeutil import utcnow

if TYPE_CHECKING:
    from planner.models.account import Account
    from planner.models.project import Stage


class Milestone(Base):
    __tablename__ = "milestone"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("stage.id"), index=True)
    baseline: Mapped[date] = mapped_column(Date)
    achieved: Mapped[date | None] = mapped_column(Date)
    # The model metric the milestone is about, and its target (">= 0.85"), as on an experiment.
    metric: Mapped[str | None] = mapped_column(String(200))
    target: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    stage: Mapped[Stage | None] = relationship(lazy="raise_on_sql")
    forecasts: Mapped[list[MilestoneForecast]] = relationship(
        back_populates="milestone",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="MilestoneForecast.id",  # the order they were recorded in
        lazy="raise_on_sql",
    )

    def __repr__(self) -> str:
        return f"<Milestone {self.name}>"


class MilestoneForecast(Base):
    """A forecast date reported on a given day. Ties on reported_on go to the last recorded (id)."""

    __tablename__ = "milestone_forecast"

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(
        ForeignKey("milestone.id", ondelete="CASCADE"), index=True
    )
    reported_on: Mapped[date] = mapped_column(Date)
    forecast: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    milestone: Mapped[Milestone] = relationship(back_populates="forecasts", lazy="raise_on_sql")
    by: Mapped[Account | None] = relationship(lazy="raise_on_sql")
