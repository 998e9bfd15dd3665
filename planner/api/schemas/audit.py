"""The audit pack's JSON bundle (GET /api/v1/projects/KEY/audit): format planner-audit-pack,
version 1. Every row carries the id of the record it came from."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from planner.api.schemas.base import Date, Moment, Out
from planner.vocab import GATE_STATES, LINK_KINDS, OUTCOMES

__all__ = ["AuditPack", "AuditQuery"]


class AuditQuery(BaseModel):
    milestone: str | None = Field(
        None, description="A milestone id: the pack of that milestone only (default: the project)."
    )


class AuditPerson(Out):
    id: int
    email: str
    name: str


class AuditText(Out):
    """Free text as recorded: planner vouches for who recorded it and when, not for its content."""

    text: str
    recorded_by: AuditPerson | None
    recorded_at: Moment | None
    change: Literal["story_text_change", "risk_change"] | None = Field(
        description="Which history holds the edit that wrote this text (null: none recorded)."
    )
    change_id: int | None


class AuditProject(Out):
    id: int
    key: str
    name: str
    description: AuditText | None
    timezone: str
    mlflow_tracking_uri: str | None
    slip_tolerance_days: int
    created_at: Moment


class AuditEpic(Out):
    id: int
    key: str
    title: str
    stage: str | None
    milestone_id: int | None
    archived: bool


class AuditScope(Out):
    level: Literal["project", "milestone"]
    milestone_id: int | None
    name: str
    description: AuditText | None
    stage: str | None
    metric: str | None
    target: str | None
    gates_up_to_stage: str | None = Field(
        description="The milestone's stage: gates of later stages are left out (null: all)."
    )
    epics: list[AuditEpic]
    definition_of_done: list[str]


class AuditForecast(Out):
    id: int = Field(description="The MilestoneForecast record.")
    reported_on: Date
    forecast: Date
    slip_days: int = Field(description="forecast - baseline, in calendar days.")
    note: str | None
    by: AuditPerson | None
    created_at: Moment


class AuditMilestone(Out):
    id: int
    name: str
    description: AuditText | None
    stage: str | None
    baseline: Date
    achieved: Date | None
    metric: str | None
    target: str | None
    current_forecast: Date
    slip_days: int
    status: Literal["on_track", "at_risk", "late"]
    epics: list[str]
    forecasts: list[AuditForecast]


class AuditOutcomeRecord(Out):
    id: int
    outcome: str = Field(json_schema_extra={"enum": list(OUTCOMES)})
    run_id: str | None
    tracking_uri: str | None
    metric: str | None
    target: str | None
    value: float | None
    reason: str | None
    decided_by: AuditPerson | None
    decided_at: Moment


class AuditRunRef(Out):
    link_id: int
    run_id: str | None
    tracking_uri: str | None


class AuditExperiment(Out):
    story_id: int
    key: str
    title: str
    status: str
    stage: str | None
    epic: str | None
    hypothesis: AuditText | None
    metric: str | None
    target: str | None
    outcome: str = Field(json_schema_extra={"enum": list(OUTCOMES)})
    outcome_basis: Literal["run", "by_hand", "unrecorded", "pending"]
    outcome_note: str
    deciding_record_id: int | None
    result: AuditText | None
    outcome_records: list[AuditOutcomeRecord]
    runs: list[AuditRunRef]


class AuditOwner(Out):
    type: Literal["story", "epic", "milestone"]
    id: int
    key: str | None


class AuditArtefact(Out):
    id: int
    kind: str = Field(json_schema_extra={"enum": list(LINK_KINDS)})
    owner: AuditOwner
    run_id: str | None
    tracking_uri: str | None
    name: str | None
    version: str | None
    uri: str | None
    url: str | None
    title: str | None
    linked_by: AuditPerson | None
    linked_at: Moment


class AuditRiskChange(Out):
    id: int
    field: str
    from_: str | None = Field(alias="from")
    to: str | None
    at: Moment
    by: AuditPerson | None


class AuditRisk(Out):
    id: int
    title: str
    category: str
    likelihood: int
    impact: int
    score: int
    level: Literal["low", "medium", "high", "critical"]
    status: str
    owner: AuditPerson | None
    milestone_id: int | None
    review_on: Date | None
    description: AuditText | None
    mitigation: AuditText | None
    stories: list[str]
    created_at: Moment
    updated_at: Moment
    history: list[AuditRiskChange]


class AuditCriterion(Out):
    id: int
    text: str
    done: bool
    done_at: Moment | None
    done_by: AuditPerson | None


class AuditApprover(Out):
    id: int
    person: AuditPerson | None
    role: str | None
    role_name: str | None


class AuditDecision(Out):
    id: int
    decision: Literal["go", "conditional", "no_go"]
    reason: str
    conditions: str | None
    decided_by: AuditPerson | None
    decided_at: Moment
    evidence: Any = Field(description="The evidence snapshot recorded with the decision (JSON).")


class AuditGate(Out):
    id: int
    name: str
    stage: str | None
    stage_name: str | None
    description: AuditText | None
    state: str = Field(json_schema_extra={"enum": list(GATE_STATES)})
    state_name: str
    deciding_decision_id: int | None
    required_links: list[str]
    required_risk_categories: list[str]
    criteria: list[AuditCriterion]
    approvers: list[AuditApprover]
    decisions: list[AuditDecision]
    created_at: Moment
    created_by: AuditPerson | None


class AuditPack(Out):
    format: Literal["planner-audit-pack"]
    version: Literal[1]
    generated_at: Moment
    generated_by: AuditPerson | None
    project: AuditProject
    scope: AuditScope
    milestones: list[AuditMilestone]
    experiments: list[AuditExperiment]
    artefacts: list[AuditArtefact]
    risks: list[AuditRisk]
    gates: list[AuditGate]
