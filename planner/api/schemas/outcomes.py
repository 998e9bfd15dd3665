"""API bodies: an experiment's proposed outcome, its confirmation, and the recorded outcome."""

from __future__ import annotations

from pydantic import Field, StrictStr

from planner.api.schemas.base import Body, Moment, Out, _one_of
from planner.vocab import PROPOSED_OUTCOMES

PROPOSED = PROPOSED_OUTCOMES


class OutcomeProposal(Out):
    outcome: str = Field(
        **_one_of(PROPOSED, "What the linked runs say: inconclusive when no run decides it.")
    )
    run_id: str | None = Field(description="The MLflow run that decides it; null if none does.")
    metric: str | None = Field(description="The story's metric, the key its runs log.")
    value: float | None = Field(description="That run's latest value of the metric.")
    target: str | None = Field(description='The story\'s target, like ">= 0.85".')
    reason: str = Field(description="Why, in a sentence naming the run and the value.")


class OutcomeConfirm(Body):
    outcome: StrictStr = Field(
        **_one_of(PROPOSED, "The outcome the proposal showed (an inconclusive one cannot be).")
    )
    run_id: StrictStr | None = Field(
        description="The run the proposal named; a changed proposal answers 409.",
        json_schema_extra={"maxLength": 64},
    )


class OutcomeDecider(Out):
    email: str
    name: str


class OutcomeRecordOut(Out):
    outcome: str
    run_id: str | None = Field(description="The run that decided it; null when set by hand.")
    metric: str | None
    target: str | None
    value: float | None
    reason: str | None
    decided_by: OutcomeDecider | None
    decided_at: Moment


__all__ = ["OutcomeConfirm", "OutcomeProposal", "OutcomeDecider", "OutcomeRecordOut"]
