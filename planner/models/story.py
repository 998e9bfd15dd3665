"""The backlog: epics, stories, their append-only history and their comments."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from planner.models.base import Base, UTCDateTime
from planner.timeutil import utcnow
from planner.vocab import (
    OUTCOMES,
    POINTS_SCALE,
    ROLES,
    STATUSES,
    STORY_TYPES,
    TRACKED_FIELDS,
    sql_in,
)

if TYPE_CHECKING:
    from planner.models.account import Account
    from planner.models.milestone import Milestone
    from planner.models.project import Project, Stage
    from planner.models.sprint import Sprint


class Epic(Base):
    __tablename__ = "epic"
    __table_args__ = (
        UniqueConstraint("project_id", "key"),
        UniqueConstraint("project_id", "external_ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("stage.id"), index=True)
    milestone_id: Mapped[int | None] = mapped_column(
        ForeignKey("milestone.id", ondelete="SET NULL"), index=True
    )
    archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Where an import took it from (a Jira issue key); re-imports find it by this, and compare
    # the file with what was imported last (JSON), so planner edits are not reverted.
    external_ref: Mapped[str | None] = mapped_column(String(100))
    external_snapshot: Mapped[str | None] = mapped_column(Text)

    stage: Mapped[Stage | None] = relationship(lazy="raise_on_sql")
    milestone: Mapped[Milestone | None] = relationship(lazy="raise_on_sql")

    def __repr__(self) -> str:
        return f"<Epic {self.key}>"


class Story(Base):
    __tablename__ = "story"
    __table_args__ = (
        UniqueConstraint("project_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint(f"type IN ({sql_in(STORY_TYPES)})", name="type_known"),
        CheckConstraint(f"status IN ({sql_in(STATUSES)})", name="status_known"),
        CheckConstraint(
            f"points IS NULL OR points IN ({', '.join(map(str, POINTS_SCALE))})",
            name="points_on_scale",
        ),
        CheckConstraint(f"role IS NULL OR role IN ({sql_in(ROLES)})", name="role_known"),
        CheckConstraint(
            f"outcome IS NULL OR outcome IN ({sql_in(OUTCOMES)})", name="outcome_known"
        ),
        CheckConstraint("version >= 1", name="version_positive"),
        Index("ix_story_project_rank", "project_id", "rank"),
        UniqueConstraint("project_id", "external_ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(12), default="feature")
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("stage.id"), index=True)
    role: Mapped[str | None] = mapped_column(String(40))
    points: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="todo")
    # Backlog order: lower first. Gaps are left so a move rewrites one row, not the backlog.
    rank: Mapped[int] = mapped_column(Integer, default=0)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    sprint_id: Mapped[int | None] = mapped_column(ForeignKey("sprint.id"), index=True)
    epic_id: Mapped[int | None] = mapped_column(
        ForeignKey("epic.id", ondelete="SET NULL"), index=True
    )
    blocked: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Experiment fields (docs/rules.md): an experiment is done only with an outcome other than
    # pending.
    hypothesis: Mapped[str | None] = mapped_column(Text)
    metric: Mapped[str | None] = mapped_column(String(200))
    target: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str | None] = mapped_column(String(12))
    result: Mapped[str | None] = mapped_column(Text)
    # Optimistic locking: every UPDATE carries WHERE version = <loaded>, so two writers that
    # started from the same version cannot both succeed. The domain bumps it on user edits.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    # Imported stories: the issue key they came from (FRAUD-31 in Jira), when they were imported,
    # and the source's own "updated" time, so importing the same export again changes nothing.
    external_ref: Mapped[str | None] = mapped_column(String(100))
    imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    external_updated: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the source said when last imported (JSON): a re-import changes only what the source
    # changed since, never what the team changed in planner.
    external_snapshot: Mapped[str | None] = mapped_column(Text)

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    project: Mapped[Project] = relationship(lazy="raise_on_sql")
    stage: Mapped[Stage | None] = relationship(lazy="raise_on_sql")
    sprint: Mapped[Sprint | None] = relationship(back_populates="stories", lazy="raise_on_sql")
    epic: Mapped[Epic | None] = relationship(lazy="raise_on_sql")
    assignee: Mapped[Account | None] = relationship(foreign_keys=[assignee_id], lazy="raise_on_sql")
    created_by: Mapped[Account | None] = relationship(
        foreign_keys=[created_by_id], lazy="raise_on_sql"
    )
    updated_by: Mapped[Account | None] = relationship(
        foreign_keys=[updated_by_id], lazy="raise_on_sql"
    )
    events: Mapped[list[StoryEvent]] = relationship(
        back_populates="story",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(StoryEvent.at, StoryEvent.id)",
        lazy="raise_on_sql",
    )
    labels: Mapped[list[Label]] = relationship(
        secondary="story_label", order_by="Label.name", lazy="raise_on_sql"
    )
    comments: Mapped[list[Comment]] = relationship(
        back_populates="story",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(Comment.created_at, Comment.id)",
        lazy="raise_on_sql",
    )

    def key_in(self, project_key: str) -> str:
        """Return the story's key (FRAUD-42) given its project's key."""
        return f"{project_key}-{self.number}"

    def __repr__(self) -> str:
        return f"<Story #{self.number} {self.status}>"


class StoryEvent(Base):
    """One change of a tracked story field. Append-only: charts are computed from these rows.

    Values are stored as text: status, stage and role keys as they are; points as the number;
    sprint and assignee as the id of the sprint or account (names and emails may change, ids don't).
    """

    __tablename__ = "story_event"
    __table_args__ = (
        CheckConstraint(f"field IN ({sql_in(TRACKED_FIELDS)})", name="field_tracked"),
        Index("ix_story_event_story_at", "story_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("story.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(12))
    from_value: Mapped[str | None] = mapped_column(String(80))
    to_value: Mapped[str | None] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))

    story: Mapped[Story] = relationship(back_populates="events", lazy="raise_on_sql")
    by: Mapped[Account | None] = relationship(lazy="raise_on_sql")


class Label(Base):
    """A simple tag of a project's stories ("needs-data", "gdpr")."""

    __tablename__ = "label"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    # A CSS hex colour ("#2f6fb0"); None shows the neutral label colour.
    colour: Mapped[str | None] = mapped_column(String(7))


story_label = Table(
    "story_label",
    Base.metadata,
    Column("story_id", ForeignKey("story.id", ondelete="CASCADE"), primary_key=True),
    Column("label_id", ForeignKey("label.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Comment(Base):
    __tablename__ = "comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("story.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    story: Mapped[Story] = relationship(back_populates="comments", lazy="raise_on_sql")
    author: Mapped[Account | None] = relationship(lazy="raise_on_sql")


TEXT_FIELDS: tuple[str, ...] = ("title", "description", "hypothesis", "metric", "target", "result")


class StoryTextChange(Base):
    """One edit of a story's text (title, description, experiment fields), for the history.

    Kept apart from StoryEvent on purpose: charts read StoryEvent only, so text edits can never
    move a chart number (docs/rules.md).
    """

    __tablename__ = "story_text_change"
    __table_args__ = (
        CheckConstraint(f"field IN ({sql_in(TEXT_FIELDS)})", name="field_text"),
        Index("ix_story_text_change_story_at", "story_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("story.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(12))
    from_text: Mapped[str | None] = mapped_column(Text)
    to_text: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))

    by: Mapped[Account | None] = relationship(lazy="raise_on_sql")


class StoryDependency(Base):
    """`blocked` is blocked by `blocker`; the stories may be in different projects."""

    __tablename__ = "story_dependency"
    __table_args__ = (CheckConstraint("blocker_id <> blocked_id", name="not_self"),)

    blocker_id: Mapped[int] = mapped_column(
        ForeignKey("story.id", ondelete="CASCADE"), primary_key=True
    )
    blocked_id: Mapped[int] = mapped_column(
        ForeignKey("story.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))

    blocker: Mapped[Story] = relationship(foreign_keys=[blocker_id], lazy="raise_on_sql")
    blocked: Mapped[Story] = relationship(foreign_keys=[blocked_id], lazy="raise_on_sql")


class ChecklistItem(Base):
    """One line of a story's checklist."""

    __tablename__ = "checklist_item"
    __table_args__ = (Index("ix_checklist_item_story_position", "story_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("story.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(String(200))
    done: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SavedView(Base):
    """A named filter of a project's Stories list, saved by a manager for the whole project."""

    __tablename__ = "saved_view"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    # The filter as a URL query string (status=todo&stage=data), as the list's URL carries it.
    query: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# The history is complete by construction: a flush that changes a tracked field of an existing
# story without adding the matching StoryEvent is refused, so a forgotten event fails loudly in
# tests instead of silently rewriting the past on the charts. (Bulk UPDATE statements bypass the
# ORM and therefore this check; planner uses none on these columns.)
TRACKED_COLUMNS = {
    "status": "status",
    "points": "points",
    "role": "role",
    "stage_id": "stage",
    "sprint_id": "sprint",
    "assignee_id": "assignee",
}


class UnrecordedChangeError(RuntimeError):
    """A tracked story field changed without a StoryEvent recording it."""


@event.listens_for(Session, "before_flush")
def _require_story_events(session: Session, _context, _instances) -> None:
    recorded = {(obj.story_id, obj.field) for obj in session.new if isinstance(obj, StoryEvent)}
    for obj in session.dirty:
        if not isinstance(obj, Story):
            continue
        state = inspect(obj)
        for column, field in TRACKED_COLUMNS.items():
            if state.attrs[column].history.has_changes() and (obj.id, field) not in recorded:
                raise UnrecordedChangeError(
                    f"Story {obj.id}: {field} changed without a StoryEvent; change tracked "
                    "fields through planner.domain.stories.update_story."
                )
