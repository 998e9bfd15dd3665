"""API bodies: stage gates, their criteria, approvers, evidence and decisions."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool, StrictStr

from planner.api.schemas.base import Body, Description, Long, Moment, Name, Out, _one_of, text
from planner.domain.gates import CRITERION_MAX
from planner.vocab import GATE_DECISIONS, GATE_STATES, LINK_KINDS, RISK_CATEGORIES

CriterionText = text(CRITERION_MAX)


class GateCriterionOut(Out):
    id: int
    text: str
    done: bool


class GatePersonOut(Out):
    email: str
    name: str


class GateRoleOut(Out):
    role: str = Field(description="A functional role key: any member holding it may decide.")


class GateEvidenceOut(Out):
    links: dict[str, bool] = Field(
        description="Each required link kind: true when a story, epic or milestone of the "
        "gate's stage links an artefact of that kind."
    )
    risks: dict[str, bool] = Field(
        description="Each required risk category: true when the register holds a risk of it "
        "and every one not closed has a mitigation and a review date not in the past."
    )


class GateDecisionOut(Out):
    id: int
    decision: str = Field(**_one_of(GATE_DECISIONS))
    reason: str
    conditions: str | None
    decided_by: GatePersonOut | None
    decided_at: Moment


class GateOut(Out):
    id: int
    stage: str = Field(description="The key of the stage the gate ends.")
    name: str
    description: str | None
    state: str = Field(**_one_of(GATE_STATES, "The latest decision; open before the first."))
    criteria: list[GateCriterionOut]
    approvers: list[GatePersonOut | GateRoleOut]
    required_links: list[str]
    required_risk_categories: list[str]
    evidence: GateEvidenceOut
    decisions: list[GateDecisionOut] = Field(description="Every decision, oldest first.")


class GateList(Out):
    gates: list[GateOut]


class GateCreate(Body):
    stage: StrictStr = Field(description="The key of the stage the gate ends.")
    name: Name
    description: Description | None = None
    criteria: list[CriterionText] = Field(
        default_factory=list, description="The checklist, one text per line (at most 50)."
    )
    approvers: list[StrictStr] = Field(
        description="Members' e-mails and functional role keys (at least one)."
    )
    required_links: list[StrictStr] = Field(
        default_factory=list,
        description="Link kinds the stage's stories, epics or milestones must link.",
        json_schema_extra={"items": {"enum": list(LINK_KINDS)}},
    )
    required_risk_categories: list[StrictStr] = Field(
        default_factory=list,
        description="Risk categories whose risks must have been reviewed.",
        json_schema_extra={"items": {"enum": list(RISK_CATEGORIES)}},
    )


class GateDecisionCreate(Body):
    decision: Literal["go", "conditional", "no_go"]
    reason: Long
    conditions: Long | None = Field(None, description="Required for a conditional go only.")


class GateCriterionPatch(Body):
    done: StrictBool
