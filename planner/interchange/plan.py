"""The normalised plan of an interchange document: typed values, references resolved to names
that exist in the document. `validate.check_document` builds it; `importer.write_plan` writes it
without further checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass
class StagePlan:
    key: str
    name: str
    archived: bool


@dataclass
class MemberPlan:
    email: str
    name: str
    access: str
    roles: list[str]


@dataclass
class EpicPlan:
    key: str
    title: str
    description: str | None
    stage: str | None
    milestone: str | None
    archived: bool
    imported_from: str | None = None


@dataclass
class SprintPlan:
    name: str
    goal: str | None
    start: date
    end: date
    state: str
    started_at: datetime | None
    closed_at: datetime | None
    capacity: list[tuple[str, int]]
    imported_at: datetime | None = None
    imported_from: str | None = None


@dataclass
class EventPlan:
    at: datetime
    field: str
    from_value: Any
    to_value: Any
    by: str | None


@dataclass
class CommentPlan:
    author: str | None
    at: datetime
    body: str


@dataclass
class StoryPlan:
    number: int
    title: str
    description: str | None
    type: str
    stage: str | None
    role: str | None
    points: int | None
    status: str
    epic: str | None
    sprint: str | None
    assignee: str | None
    rank: int
    created_at: datetime
    blocked: bool
    hypothesis: str | None
    metric: str | None
    target: str | None
    outcome: str | None
    result: str | None
    history: list[EventPlan]
    comments: list[CommentPlan]
    labels: list[str] = field(default_factory=list)
    imported_from: str | None = None
    imported_at: datetime | None = None
    source_updated: datetime | None = None
    source_fields: str | None = None


@dataclass
class ForecastPlan:
    reported_on: date
    forecast: date
    note: str | None
    by: str | None


@dataclass
class MilestonePlan:
    name: str
    description: str | None
    stage: str | None
    baseline: date
    achieved: date | None
    forecasts: list[ForecastPlan]


@dataclass
class RiskPlan:
    title: str
    description: str | None
    category: str
    likelihood: int
    impact: int
    owner: str | None
    mitigation: str | None
    status: str
    stories: list[int]
    milestone: str | None
    review_on: date | None


@dataclass
class Plan:
    key: str
    name: str
    description: str | None
    timezone: str
    working_days: list[int]
    holidays: list[date]
    sprint_length_days: int
    slip_tolerance_days: int
    created_at: datetime | None
    stages: list[StagePlan]
    members: list[MemberPlan] = field(default_factory=list)
    epics: list[EpicPlan] = field(default_factory=list)
    sprints: list[SprintPlan] = field(default_factory=list)
    stories: list[StoryPlan] = field(default_factory=list)
    milestones: list[MilestonePlan] = field(default_factory=list)
    risks: list[RiskPlan] = field(default_factory=list)
