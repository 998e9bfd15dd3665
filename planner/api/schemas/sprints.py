"""API bodies: sprints, their plan and their charts."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, StrictInt, StrictStr

from planner.api.schemas.base import Body, Date, Goal, Moment, Out, ShortName, _one_of
from planner.api.schemas.projects import SprintOut

# --- sprints and charts ------------------------------------------------------------------------


class SprintNumbers(SprintOut):
    committed: int
    scope: int
    completed: int
    remaining: int
    added: list[str]
    removed: list[str]


class ScopeChange(Out):
    day: Date
    story: str
    change: str
    points: int


class BurndownQuery(BaseModel):
    unit: Literal["points", "stories"] = "points"
    scope_limit: str | None = Field(None, description="Scope changes a page, 1-1000 (default 100).")
    scope_offset: str | None = Field(
        None, description="Scope changes to skip (default 0): `scope_next_offset` of the last page."
    )


class ScopeDay(Out):
    day: Date
    added: int
    removed: int
    re_estimated: int
    points_added: int
    points_removed: int
    points_re_estimated: int
    points: int


class Burndown(Out):
    sprint: SprintOut
    unit: Literal["points", "stories"]
    days: list[Date]
    committed: int
    ideal: list[float]
    scope: list[int | None]
    done: list[int | None]
    remaining: list[int | None]
    scope_changes: list[ScopeChange]
    scope_changes_total: int
    scope_offset: int
    scope_limit: int
    scope_next_offset: int | None
    scope_summary: list[ScopeDay]


class VelocitySprint(SprintOut):
    committed: int
    completed: int


class Velocity(Out):
    sprints: list[VelocitySprint]
    average: float | None
    average_of: list[str]


class BoardQuery(BaseModel):
    since: Moment | None = Field(None, description="The `now` of the previous answer.")
    lanes: str | None = Field(None, **_one_of(("none", "stage", "assignee", "epic"), nullable=True))
    mine: str | None = Field(None, description="1: only my cards.")
    role: str | None = None
    stage: str | None = None


class BoardCard(Out):
    number: int
    version: int


class BoardChange(Out):
    number: int
    key: str
    version: int
    status: str
    lane: str


class ColumnTotal(Out):
    lane: str
    status: str
    cards: int
    points: int
    label: str


class BoardTotals(Out):
    done_points: int
    all_points: int
    percent_done: int
    progress_label: str
    columns: list[ColumnTotal]


class Board(Out):
    now: Moment
    cards: list[BoardCard]
    changed: list[BoardChange]
    totals: BoardTotals


# --- sprint life ---------------------------------------------------------------------------------


class SprintCreate(Body):
    name: ShortName
    start: StrictStr = Field(description="YYYY-MM-DD", json_schema_extra={"format": "date"})
    end: StrictStr = Field(description="YYYY-MM-DD", json_schema_extra={"format": "date"})
    goal: Goal | None = None


class SprintPatch(Body):
    name: ShortName | None = None
    goal: Goal | None = None
    start: StrictStr | None = Field(
        None, description="YYYY-MM-DD; only while planned.", json_schema_extra={"format": "date"}
    )
    end: StrictStr | None = Field(
        None, description="YYYY-MM-DD; only while planned.", json_schema_extra={"format": "date"}
    )


class SprintClose(Body):
    default: Literal["next", "backlog"] = Field(
        "next", description="Where unfinished stories go unless `stories` says otherwise."
    )
    stories: dict[str, Literal["next", "backlog"]] = Field(
        default_factory=dict,
        description='Per unfinished story key: {"FRAUD-12": "backlog"}. "next" is the next '
        "planned sprint (made when there is none).",
    )


class SprintClosed(Out):
    sprint: SprintNumbers
    next_sprint: SprintOut | None
    to_next: list[str]
    to_backlog: list[str]


# --- sprint plan and report series --------------------------------------------------------------


class SprintSummaryOut(Out):
    sprint: SprintOut
    committed_points: int
    committed_stories: int
    added_points: int
    added_stories: int
    removed_points: int
    removed_stories: int
    reestimated_points: int = Field(description="Net change from re-estimates in the sprint.")
    completed_points: int
    completed_stories: int
    carried_points: int = Field(description="Unfinished at the last day's moment.")
    carried_stories: int
    scope_points: int
    scope_stories: int


class Flow(Out):
    sprint: SprintOut
    days: list[Date]
    stories: dict[str, list[int | None]] = Field(
        description="Stories per status per sprint day (null for days to come)."
    )


class SprintStories(Body):
    add: list[StrictStr] = Field(default_factory=list, description="Story keys to bring in.")
    remove: list[StrictStr] = Field(
        default_factory=list, description="Story keys to send back to the backlog."
    )


class SprintStoryKeys(Out):
    stories: list[str] = Field(description="The sprint's stories now, in rank order.")


class CapacityEntry(Out):
    email: str
    points: int | None = Field(description="Planned points; null when none is saved.")
    suggested: float | None = Field(
        description="The average completed over recent closed sprints, when known."
    )


class CapacityOut(Out):
    saved: bool = Field(description="false: no capacity saved; the plan uses the suggestions.")
    members: list[CapacityEntry]


class CapacityIn(Body):
    capacity: dict[str, StrictInt | None] = Field(
        description='Points per member e-mail: {"priya@example.com": 8}; null or left out: none.'
    )


class StagePoints(Out):
    stage: str | None = Field(description="A stage key; null: stories without a stage.")
    name: str
    points: int


class StagesReport(Out):
    sprint: SprintOut
    stages: list[StagePoints] = Field(
        description="Points of the sprint's stories at its last day's moment, by ML stage."
    )


class RoleLoad(Out):
    role: str | None = Field(description="A functional role key; null: work any role can take.")
    name: str
    needed: int
    capacity: int | None
    over_by: int


class RolesReport(Out):
    sprint: SprintOut
    capacity_source: Literal["saved", "suggested"]
    roles: list[RoleLoad]
    needed: int
    capacity: int
    over_capacity_by: int
    velocity: float | None = Field(description="Average completed points of the last three.")
