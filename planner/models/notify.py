"""What leaves planner: the outbox of domain events, in-app notifications, watchers, webhooks and
the deliveries (e-mails and webhook calls) the worker makes, with every attempt recorded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planner.models.base import Base, UTCDateTime
from planner.timeutil import utcnow

EMAIL_MODES = ("immediate", "daily", "weekly", "never")


class OutboxEvent(Base):
    """One domain change others may care about, written in the same transaction as the change:
    a change that rolls back leaves no row. The worker fans it out into notifications and
    deliveries, then marks it dispatched."""

    __tablename__ = "outbox_event"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'dispatched')", name="state_known"),
        Index("ix_outbox_event_state_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    data: Mapped[str] = mapped_column(Text)  # JSON, frozen when the change was made
    state: Mapped[str] = mapped_column(String(12), default="pending")
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Notification(Base):
    """One line in a person's inbox ("Priya commented on FRAUD-31"), linking to the thing."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_account_read", "account_id", "read_at"),
        Index("ix_notification_digest", "digest", "digested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_event.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(String(400))
    detail: Mapped[str | None] = mapped_column(Text)  # the reason, the comment's first lines
    link: Mapped[str] = mapped_column(String(400))  # a path inside planner
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "daily" or "weekly" when the person takes this kind in a digest; set when it was sent.
    digest: Mapped[str | None] = mapped_column(String(8))
    digested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EmailPreference(Base):
    """How a person wants one kind of notification by e-mail; no row means the default."""

    __tablename__ = "email_preference"
    __table_args__ = (
        CheckConstraint("mode IN ('immediate', 'daily', 'weekly', 'never')", name="mode_known"),
    )

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    mode: Mapped[str] = mapped_column(String(10))


class StoryWatch(Base):
    """Someone who hears about a story's changes and comments."""

    __tablename__ = "story_watch"

    story_id: Mapped[int] = mapped_column(
        ForeignKey("story.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Webhook(Base):
    """A URL a project manager registered, with the secret its deliveries are signed with."""

    __tablename__ = "webhook"
    __table_args__ = (UniqueConstraint("project_id", "url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    events: Mapped[str] = mapped_column(Text)  # event names, space-separated
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def event_names(self) -> list[str]:
        return self.events.split()


class Delivery(Base):
    """One e-mail or webhook call to make. Its id is stable across retries (X-Planner-Delivery)
    and its body is fixed when it is created, so a retry sends the same bytes."""

    __tablename__ = "delivery"
    __table_args__ = (
        CheckConstraint("channel IN ('email', 'webhook')", name="channel_known"),
        CheckConstraint("state IN ('pending', 'delivered', 'failed')", name="state_known"),
        Index("ix_delivery_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_event.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(10))
    webhook_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(40))  # the event name, or "mail" for a digest
    payload: Mapped[str] = mapped_column(Text)  # the webhook body, or the rendered mail (JSON)
    state: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A worker that claimed the delivery holds it until then; if it died, another retries after.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    attempts_made: Mapped[list[DeliveryAttempt]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="DeliveryAttempt.id",
        lazy="raise_on_sql",
    )


class DeliveryAttempt(Base):
    """One try at a delivery: when, by which worker, the answer code and how long it took."""

    __tablename__ = "delivery_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("delivery.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    worker: Mapped[str] = mapped_column(String(120))
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
