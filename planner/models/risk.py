"""The ML risk register."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Column, Date, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planner.models.base import Base, UTCDateTime
from planner.timeutil import utcnow
from planner.vocab import RISK_CATEGORIES, RISK_STATUSES, sql_in

if TYPE_CHECKING:
    from planner.models.account import Account
    from planner.models.milestone import Milestone
    from planner.models.story import Story

risk_story = Table(
    "risk_story",
    Base.metadata,
    Column("risk_id", ForeignKey("risk.id", ondelete="CASCADE"), primary_key=True),
    Column("story_id", ForeignKey("story.id", ondelete="CASCADE"), primary_key=True),
)


class Risk(Base):
    __tablename__ = "risk"
    __table_args__ = (
        CheckConstraint(f"category IN ({sql_in(RISK_CATEGORIES)})", name="category_known"),
        CheckConstraint(f"status IN ({sql_in(RISK_STATUSES)})", name="status_known"),
        CheckConstraint("likelihood BETWEEN 1 AND 5", name="likelihood_range"),
        CheckConstraint("impact BETWEEN 1 AND 5", name="impact_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(30))
    likelihood: Mapped[int] = mapped_column(Integer)
    impact: Mapped[int] = mapped_column(Integer)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    mitigation: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="open")
    milestone_id: Mapped[int | None] = mapped_column(
        ForeignKey("milestone.id", ondelete="SET NULL"), index=True
    )
    review_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[Account | None] = relationship(lazy="raise_on_sql")
    milestone: Mapped[Milestone | None] = relationship(lazy="raise_on_sql")
    stories: Mapped[list[Story]] = relationship(secondary=risk_story, lazy="raise_on_sql")

    @property
    def score(self) -> int:
        return self.likelihood * self.impact
