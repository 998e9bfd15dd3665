"""Evidence and decisions: artefact links, experiment outcomes, stage gates and risk history.

These rows are what the audit pack is built from (docs/rules.md, "Evidence and gates"): a link
names an artefact outside planner (an MLflow run, a dataset version, a document), an outcome record
says which run and value decided an experiment, a gate decision says who decided what and when.
Outcome records, gate decisions and risk changes are append-only: the flush guard at the end of
this module refuses to change or delete one.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from planner.models.base import Base, UTCDateTime
from planner.timeutil import utcnow
from planner.vocab import GATE_DECISIONS, LINK_KINDS, OUTCOMES, ROLES, sql_in

if TYPE_CHECKING:
    from planner.models.account import Account
    from planner.models.project import Stage

_ONE_OWNER = (
    "(CASE WHEN story_id IS NULL THEN 0 ELSE 1 END"
    " + CASE WHEN epic_id IS NULL THEN 0 ELSE 1 END"
    " + CASE WHEN milestone_id IS NULL THEN 0 ELSE 1 END) = 1"
)


class ArtefactLink(Base):
    """A typed link from a story, an epic or a milestone (exactly one) to an artefact.

    Which columns hold the artefact depends on the kind (docs/api.md, "Links"):
    mlflow_run: run_id (+ tracking_uri when not the project's); mlflow_model_version: name and
    version (a number or an alias); dataset: uri and version (or a content hash); commit: url;
    document: url and title.
    """

    __tablename__ = "artefact_link"
    __table_args__ = (
        CheckConstraint(f"kind IN ({sql_in(LINK_KINDS)})", name="kind_known"),
        CheckConstraint(_ONE_OWNER, name="one_owner"),
        Index("ix_artefact_link_project_kind", "project_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    story_id: Mapped[int | None] = mapped_column(
        ForeignKey("story.id", ondelete="CASCADE"), index=True
    )
    epic_id: Mapped[int | None] = mapped_column(
        ForeignKey("epic.id", ondelete="CASCADE"), index=True
    )
    milestone_id: Mapped[int | None] = mapped_column(
        ForeignKey("milestone.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(24))
    run_id: Mapped[str | None] = mapped_column(String(64))
    tracking_uri: Mapped[str | None] = mapped_column(String(500))
    name: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[str | None] = mapped_column(String(200))
    uri: Mapped[str | None] = mapped_column(String(1000))
    url: Mapped[str | None] = mapped_column(String(2000))
    title: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))

    created_by: Mapped[Account | None] = relationship(lazy="raise_on_sql")


class OutcomeRecord(Base):
    """An experiment's outcome as a person set it, with the run and value that decided it.

    Append-only; the story's `outcome` column is the latest record's outcome. `run_id` and `value`
    are empty when the outcome was set by hand without a run.
    """

    __tablename__ = "outcome_record"
    __table_args__ = (
        CheckConstraint(f"outcome IN ({sql_in(OUTCOMES)})", name="outcome_known"),
        Index("ix_outcome_record_story", "story_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("story.id", ondelete="CASCADE"))
    outcome: Mapped[str] = mapped_column(String(12))
    run_id: Mapped[str | None] = mapped_column(String(64))
    tracking_uri: Mapped[str | None] = mapped_column(String(500))
    metric: Mapped[str | None] = mapped_column(String(200))
    target: Mapped[str | None] = mapped_column(String(200))
    value: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))

    decided_by: Mapped[Account | None] = relationship(lazy="raise_on_sql")


class Gate(Base):
    """A go/no-go checkpoint at the end of a lifecycle stage ("after Evaluation: ready for pilot").

    Stories of later stages should not start while the gate is open or failed (a warning, or a
    refusal where the project enforces gates).
    """

    __tablename__ = "gate"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project.id", ondelete="CASCADE"), index=True
    )
    stage_id: Mapped[int] = mapped_column(ForeignKey("stage.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    # Required evidence: link kinds (space-separated LINK_KINDS keys) that stories or epics of the
    # stage must link, and risk categories (space-separated) whose risks must have been reviewed.
    required_links: Mapped[str] = mapped_column(String(200), default="", server_default="")
    required_risk_categories: Mapped[str] = mapped_column(
        String(400), default="", server_default=""
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))

    stage: Mapped[Stage] = relationship(lazy="raise_on_sql")
    criteria: Mapped[list[GateCriterion]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(GateCriterion.position, GateCriterion.id)",
        lazy="raise_on_sql",
    )
    approvers: Mapped[list[GateApprover]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="GateApprover.id",
        lazy="raise_on_sql",
    )
    decisions: Mapped[list[GateDecision]] = relationship(
        passive_deletes=True,
        order_by="GateDecision.id",  # the order they were recorded in; the last is the state
        lazy="raise_on_sql",
    )


class GateCriterion(Base):
    """One line of a gate's checklist."""

    __tablename__ = "gate_criterion"

    id: Mapped[int] = mapped_column(primary_key=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gate.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(String(300))
    done: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))


class GateApprover(Base):
    """Who may decide a gate: a named person, or any member holding a functional role."""

    __tablename__ = "gate_approver"
    __table_args__ = (
        CheckConstraint("(account_id IS NULL) <> (role IS NULL)", name="person_or_role"),
        CheckConstraint(f"role IS NULL OR role IN ({sql_in(ROLES)})", name="role_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gate.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    role: Mapped[str | None] = mapped_column(String(40))

    account: Mapped[Account | None] = relationship(lazy="raise_on_sql")


class GateDecision(Base):
    """A go, no-go or conditional go on a gate. Never edited or deleted; the latest is the state.

    `evidence` is a JSON snapshot of the criteria and required evidence as they stood when the
    decision was recorded, so the audit pack shows what the approver saw.
    """

    __tablename__ = "gate_decision"
    __table_args__ = (
        CheckConstraint(f"decision IN ({sql_in(GATE_DECISIONS)})", name="decision_known"),
        Index("ix_gate_decision_gate", "gate_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gate.id", ondelete="CASCADE"))
    decision: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text)
    conditions: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))

    decided_by: Mapped[Account | None] = relationship(lazy="raise_on_sql")


RISK_HISTORY_FIELDS: tuple[str, ...] = (
    "title",
    "category",
    "likelihood",
    "impact",
    "status",
    "mitigation",
    "owner",
    "review_on",
    "milestone",
)


class RiskChange(Base):
    """One change of a risk's field (mitigation, status, review date…), for its history."""

    __tablename__ = "risk_change"
    __table_args__ = (
        CheckConstraint(f"field IN ({sql_in(RISK_HISTORY_FIELDS)})", name="field_known"),
        Index("ix_risk_change_risk_at", "risk_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    risk_id: Mapped[int] = mapped_column(ForeignKey("risk.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(12))
    from_value: Mapped[str | None] = mapped_column(Text)
    to_value: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))

    by: Mapped[Account | None] = relationship(lazy="raise_on_sql")


class ImmutableRecordError(RuntimeError):
    """An append-only record (outcome, gate decision, risk change) was changed or deleted."""


_APPEND_ONLY = (OutcomeRecord, GateDecision, RiskChange)


@event.listens_for(Session, "before_flush")
def _refuse_rewrites(session: Session, _context, _instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, _APPEND_ONLY) and (
            obj in session.deleted or session.is_modified(obj, include_collections=False)
        ):
            raise ImmutableRecordError(
                f"{type(obj).__name__} {obj.id} is append-only: record a new one instead."
            )
