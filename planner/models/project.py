"""Projects and who works on them: project settings, calendar, memberships, roles and stages."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from planner.models.account import Account
from planner.models.base import Base, UTCDateTime
from planner.models.versioning import new_context_stamp
from planner.timeutil import utcnow
from planner.vocab import (
    ACCESS_LEVELS,
    DEFAULT_SLIP_TOLERANCE_DAYS,
    DEFAULT_SPRINT_LENGTH_DAYS,
    ROLES,
    sql_in,
)


class Project(Base):
    __tablename__ = "project"
    __table_args__ = (
        CheckConstraint("sprint_length_days BETWEEN 1 AND 90", name="sprint_length_range"),
        CheckConstraint("slip_tolerance_days BETWEEN 0 AND 365", name="slip_tolerance_range"),
        CheckConstraint("length(working_days) BETWEEN 1 AND 7", name="working_days_length"),
        CheckConstraint("story_counter >= 0", name="story_counter_positive"),
        CheckConstraint("epic_counter >= 0", name="epic_counter_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # ISO weekday digits in order, "12345" = Monday to Friday.
    working_days: Mapped[str] = mapped_column(String(7), default="12345")
    sprint_length_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_SPRINT_LENGTH_DAYS)
    slip_tolerance_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_SLIP_TOLERANCE_DAYS)
    # Where the team's MLflow lives (an http(s) tracking server, or a local store); None: the
    # PLANNER_MLFLOW_TRACKING_URI setting.
    mlflow_tracking_uri: Mapped[str | None] = mapped_column(String(500))
    # Refuse to start stories of a stage behind an open or failed gate (otherwise: a warning).
    enforce_gates: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # The last number handed out to a story / epic of this project (keys FRAUD-42, E3).
    story_counter: Mapped[int] = mapped_column(Integer, default=0)
    epic_counter: Mapped[int] = mapped_column(Integer, default=0)
    # The folded part of the project's change version (change_version, below, adds the rows of
    # project_change not folded in yet): planner.models.versioning.
    folded_version: Mapped[int] = mapped_column(
        "change_version", Integer, default=0, server_default="0"
    )
    # Random, and new whenever the project's context changes (stages, members, their roles and
    # names, sprints, epics; planner.models.versioning): each worker keeps a copy of a context
    # against it (planner.domain.context).
    context_stamp: Mapped[int] = mapped_column(
        BigInteger, default=new_context_stamp, server_default="0"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="project",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise_on_sql",
    )
    stages: Mapped[list[Stage]] = relationship(
        back_populates="project",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Stage.position",
        lazy="raise_on_sql",
    )
    holidays: Mapped[list[Holiday]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Holiday.day",
        lazy="raise_on_sql",
    )

    @property
    def working_weekdays(self) -> tuple[int, ...]:
        """The ISO weekday numbers (1 = Monday) the team works."""
        return tuple(int(ch) for ch in self.working_days)

    def __repr__(self) -> str:
        return f"<Project {self.key}>"


class Holiday(Base):
    """A non-working date in the project's calendar."""

    __tablename__ = "holiday"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class Membership(Base):
    """A person's access to one project, and the functional roles they hold there."""

    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("project_id", "account_id"),
        CheckConstraint(f"access IN ({sql_in(ACCESS_LEVELS)})", name="access_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    access: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    project: Mapped[Project] = relationship(back_populates="memberships", lazy="raise_on_sql")
    account: Mapped[Account] = relationship(lazy="raise_on_sql")
    role_rows: Mapped[list[MembershipRole]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="MembershipRole.role",
        lazy="raise_on_sql",
    )

    @property
    def roles(self) -> list[str]:
        """The functional role keys, in the order of docs/rules.md."""
        held = {row.role for row in self.role_rows}
        return [key for key in ROLES if key in held]


class MembershipRole(Base):
    __tablename__ = "membership_role"
    __table_args__ = (CheckConstraint(f"role IN ({sql_in(ROLES)})", name="role_known"),)

    membership_id: Mapped[int] = mapped_column(
        ForeignKey("membership.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(40), primary_key=True)


class Stage(Base):
    """An ML lifecycle stage of a project: a label on epics and stories, renamable, reorderable."""

    __tablename__ = "stage"
    __table_args__ = (
        UniqueConstraint("project_id", "key"),
        CheckConstraint("position >= 0", name="position_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer)
    archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    project: Mapped[Project] = relationship(back_populates="stages", lazy="raise_on_sql")

    def __repr__(self) -> str:
        return f"<Stage {self.key}>"


class ShareLink(Base):
    """A revocable read-only link to a project's stakeholder dashboard; only its digest is kept."""

    __tablename__ = "share_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last local day (project timezone) the link opens the dashboard; None: no expiry.
    expires_on: Mapped[date | None] = mapped_column(Date)


class ProjectChange(Base):
    """One write of a project (a transaction's, counted once it commits) not yet folded into its
    change version: a writer adds a row instead of updating the project's row, so writers of one
    project never wait on each other for it (planner.models.versioning folds the rows into the
    project now and then)."""

    __tablename__ = "project_change"

    # One sequence for every write of every project: 64 bits (SQLite's rowid is 64 bits).
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )


# The project's change version: its folded part plus its changes not folded in yet. It goes up by
# one with each transaction that writes anything a page of the project shows, and with nothing
# else (planner.models.versioning); the board poll's ETag and the kept pages are keyed on it.
Project.change_version = column_property(
    Project.folded_version
    + select(func.count(ProjectChange.id))
    .where(ProjectChange.project_id == Project.id)
    .correlate_except(ProjectChange)
    .scalar_subquery()
)
