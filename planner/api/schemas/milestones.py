"""API bodies: milestones and risks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictInt, StrictStr

from planner.api.schemas.base import (
    Body,
    Date,
    Description,
    Long,
    Moment,
    Name,
    Note,
    Out,
    Short,
    Title,
    _one_of,
)
from planner.api.schemas.links import LinkOut
from planner.vocab import RISK_CATEGORIES, RISK_STATUSES

# --- milestones --------------------------------------------------------------------------------


class ForecastOut(Out):
    reported_on: Date
    forecast: Date
    note: str | None


class MilestoneOut(Out):
    id: int
    name: str
    stage: str | None
    baseline: Date
    forecast: Date
    achieved: Date | None
    metric: str | None = Field(description="The target metric's name, like val_recall.")
    target: str | None = Field(description='Its target, like ">= 0.85".')
    slip_days: int
    status: Literal["on_track", "at_risk", "late"]
    forecasts: list[ForecastOut]
    links: list[LinkOut] | None = Field(
        None, description="Artefact links with live details (GET of one milestone only)."
    )


class MilestoneList(Out):
    milestones: list[MilestoneOut]


class ForecastCreate(Body):
    forecast: StrictStr = Field(description="YYYY-MM-DD", json_schema_extra={"format": "date"})
    reported_on: StrictStr | None = Field(
        None, description="YYYY-MM-DD; default today.", json_schema_extra={"format": "date"}
    )
    note: Note | None = None


class MetricTrendPoint(Out):
    run_id: str
    name: str | None
    end_time: Moment
    value: float
    best: float = Field(description="The best value so far once this run had ended.")


class MetricTrendSkipped(Out):
    run_id: str
    name: str | None
    status: str | None
    reason: str


class MetricTrendBest(Out):
    run_id: str
    name: str | None
    value: float


class MetricTrendExtrapolation(Out):
    state: Literal["met", "projected", "too_slow", "no_improvement", "too_early", "no_runs"]
    label: str
    window_start: Date
    measured_from: Date | None
    best_then: float | None
    best_now: float | None
    rate_per_day: float | None
    reaches_on: Date | None
    met_on: Date | None
    met_by_run: str | None
    sentence: str


class MetricTrendSummary(Out):
    since: Date | None
    sprints: list[str]
    start_value: float | None
    now_value: float | None
    sentence: str


class MetricTrendOut(Out):
    milestone: int
    metric: str | None
    target: str | None
    today: Date
    timezone: str
    linked_runs: int
    error: str | None
    message: str | None
    series: list[MetricTrendPoint]
    skipped: list[MetricTrendSkipped]
    best: MetricTrendBest | None
    extrapolation: MetricTrendExtrapolation | None
    summary: MetricTrendSummary | None


# --- risks ---------------------------------------------------------------------------------------


class RiskChangeOut(Out):
    id: int
    field: str = Field(
        description="title, category, likelihood, impact, status, mitigation, "
        "owner (an e-mail), review_on (YYYY-MM-DD) or milestone (an id)."
    )
    from_: str | None = Field(alias="from", description="null when the risk was created with it.")
    to: str | None
    at: Moment
    by: str | None = Field(description="The e-mail of who changed it.")


class RiskOut(Out):
    id: int
    title: str
    description: str | None
    category: str = Field(**_one_of(RISK_CATEGORIES))
    likelihood: int = Field(ge=1, le=5)
    impact: int = Field(ge=1, le=5)
    score: int = Field(description="likelihood x impact")
    level: Literal["low", "medium", "high", "critical"]
    owner: str | None = Field(description="The owner's e-mail.")
    mitigation: str | None
    status: str = Field(**_one_of(RISK_STATUSES))
    milestone: int | None = Field(description="The milestone it threatens (id).")
    review_on: Date | None
    stories: list[str] = Field(description="Keys of the stories that address or are hit by it.")
    created_at: Moment
    updated_at: Moment
    history: list[RiskChangeOut] = Field(
        description="Every change of a tracked field, oldest first."
    )


class RiskList(Out):
    risks: list[RiskOut]


class RiskFields(Body):
    title: Title | None = None
    description: Description | None = None
    category: StrictStr | None = Field(None, **_one_of(RISK_CATEGORIES, nullable=True))
    likelihood: StrictInt | None = Field(None, description="1-5")
    impact: StrictInt | None = Field(None, description="1-5")
    owner: StrictStr | StrictInt | None = Field(None, description="A member's e-mail; null: none.")
    mitigation: Long | None = None
    status: StrictStr | None = Field(None, **_one_of(RISK_STATUSES, nullable=True))
    milestone: StrictInt | None = Field(None, description="A milestone id; null: none.")
    review_on: StrictStr | None = Field(
        None, description="YYYY-MM-DD; null: none.", json_schema_extra={"format": "date"}
    )
    stories: list[StrictStr] | None = Field(None, description="Story keys, like FRAUD-12.")


class RiskCreate(RiskFields):
    title: Title
    category: StrictStr = Field(**_one_of(RISK_CATEGORIES))
    likelihood: StrictInt = Field(description="1-5")
    impact: StrictInt = Field(description="1-5")


class MilestoneFields(Body):
    name: Name | None = None
    description: Description | None = None
    stage: StrictStr | None = Field(None, description="A stage key; null: none.")
    baseline: StrictStr | None = Field(
        None,
        description="YYYY-MM-DD: the date first promised.",
        json_schema_extra={"format": "date"},
    )
    epics: list[StrictStr] | None = Field(
        None, description="Keys of the epics that deliver it (replaces the list)."
    )
    metric: Short | None = Field(
        None, description="The target metric as MLflow logs it, like val_recall; with target."
    )
    target: Short | None = Field(
        None, description='">=", ">", "<=" or "<" and a number, like ">= 0.85"; with metric.'
    )


class MilestoneCreate(MilestoneFields):
    name: Name
    baseline: StrictStr = Field(
        description="YYYY-MM-DD: the date first promised.", json_schema_extra={"format": "date"}
    )


class MilestonePatch(MilestoneFields):
    achieved: StrictStr | None = Field(
        None,
        description="YYYY-MM-DD it was reached (not in the future); null clears it. Left out: "
        "unchanged.",
        json_schema_extra={"format": "date"},
    )
