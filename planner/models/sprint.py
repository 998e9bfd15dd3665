"""Sprints and the capacity each member plans to give one."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planner.models.base import Base, UTCDateTime
from planner.timeutil import utcnow
from planner.vocab import SPRINT_STATES, sql_in

if TYPE_CHECKING:
    from planner.models.account import Account
    from planner.models.story import Story


class Sprint(Base):
    __tablename__ = "sprint"
    __table_args__ = (
        UniqueConstraint("project_id", "name"),
        CheckConstraint("end_date >= start_date", name="dates_in_order"),
        CheckConstraint(f"state IN ({sql_in(SPRINT_STATES)})", name="state_known"),
        CheckConstraint(
            "state = 'planned' OR started_at IS NOT NULL", name="started_when_not_planned"
        ),
        CheckConstraint("state <> 'closed' OR closed_at IS NOT NULL", name="closed_has_closed_at"),
        # A project has at most one active sprint.
        Index(
            "uq_sprint_one_active",
            "project_id",
            unique=True,
            postgresql_where=text("state = 'active'"),
            sqlite_where=text("state = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    goal: Mapped[str | None] = mapped_column(Text)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(10), default="planned")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set on sprints an import created: a Jira CSV keeps no sprint dates or history, so their
    # charts are approximate for the days before this moment.
    imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The sprint's name in the source (Jira), so a re-import finds it after a rename here.
    external_ref: Mapped[str | None] = mapped_column(String(80))

    stories: Mapped[list[Story]] = relationship(back_populates="sprint", lazy="raise_on_sql")
    capacities: Mapped[list[SprintCapacity]] = relationship(
        back_populates="sprint",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise_on_sql",
    )

    def __repr__(self) -> str:
        return f"<Sprint {self.name} {self.state}>"


class SprintCapacity(Base):
    """The points one member plans to complete in one sprint."""

    __tablename__ = "sprint_capacity"
    __table_args__ = (CheckConstraint("points >= 0", name="points_positive"),)

    sprint_id: Mapped[int] = mapped_column(
        ForeignKey("sprint.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    points: Mapped[int] = mapped_column(Integer)

    sprint: Mapped[Sprint] = relationship(back_populates="capacities", lazy="raise_on_sql")
    account: Mapped[Account] = relationship(lazy="raise_on_sql")
