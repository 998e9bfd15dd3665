"""The API's request and response bodies, declared once with pydantic. The same declarations
validate requests (planner/api/spec.py answers 422 with a message per field), check every answer
before it leaves, and write the OpenAPI document (/api/v1/openapi.json).

Requests are checked for their shape here: fields, JSON types, required values, no unknown
fields. What the words mean (a status that exists, a member, a text within its limit, a date in
the window) is the domain's to judge, with the same messages the pages give; the document still
lists the allowed values (`enum`) so that clients know them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from planner.vocab import (
    ACCESS_LEVELS,
    OUTCOMES,
    POINTS_SCALE,
    RISK_CATEGORIES,
    RISK_STATUSES,
    ROLES,
    STATUSES,
    STORY_TYPES,
)


def _one_of(values, description: str = "", *, nullable: bool = False) -> dict[str, Any]:
    """Document the allowed values of a field the domain checks (see the module docstring)."""
    allowed = [*values, None] if nullable else list(values)
    return {"json_schema_extra": {"enum": allowed}, "description": description or None}


class Body(BaseModel):
    """A request body: exactly these fields, with these JSON types."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Out(BaseModel):
    """A response body."""

    model_config = ConfigDict(extra="forbid")


Date = Annotated[str, Field(json_schema_extra={"format": "date"})]
Moment = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


# --- errors --------------------------------------------------------------------------------------


class ErrorDetail(Out):
    code: str = Field(description="invalid, not_found, forbidden, stale_version, rate_limited, ...")
    message: str
    details: dict[str, Any] = Field(
        description="A message per field for 422; the current story for a stale version (409)."
    )


class Error(Out):
    error: ErrorDetail


# --- people ------------------------------------------------------------------------------------


class Token(Out):
    id: int
    name: str
    prefix: str = Field(description="The token's first characters, to tell tokens apart.")
    scope: Literal["read", "write"]
    created_at: Moment
    last_used_at: Moment | None
    expires_at: Moment | None
    revoked_at: Moment | None


class Me(Out):
    email: str
    name: str
    is_admin: bool
    token: Token | None = Field(description="The token this request sent; null for a session.")


# --- projects ----------------------------------------------------------------------------------


class ProjectSummary(Out):
    key: str
    name: str
    description: str | None
    timezone: str
    working_days: list[int]
    sprint_length_days: int
    slip_tolerance_days: int
    access: Literal["view", "edit", "manage"]
    roles: list[str]


class ProjectList(Out):
    projects: list[ProjectSummary]


class StageOut(Out):
    key: str
    name: str
    archived: bool


class MemberOut(Out):
    email: str
    name: str
    access: str = Field(**_one_of(ACCESS_LEVELS))
    roles: list[str]


class SprintOut(Out):
    id: int
    name: str
    goal: str | None
    start: Date
    end: Date
    state: Literal["planned", "active", "closed"]
    started_at: Moment | None
    closed_at: Moment | None


class ProjectDetail(ProjectSummary):
    stages: list[StageOut]
    members: list[MemberOut]
    sprints: list[SprintOut]


class SprintList(Out):
    sprints: list[SprintOut]


# --- stories -----------------------------------------------------------------------------------


class Event(Out):
    at: Moment
    field: str
    from_: Any = Field(alias="from")
    to: Any
    by: str | None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class StoryOut(Out):
    key: str
    project: str
    title: str
    description: str | None
    type: str = Field(**_one_of(STORY_TYPES))
    stage: str | None
    role: str | None
    points: int | None
    status: str = Field(**_one_of(STATUSES))
    assignee: str | None = Field(description="The assignee's e-mail.")
    assignee_name: str | None
    sprint: int | None = Field(description="The sprint's id; null in the backlog.")
    sprint_name: str | None
    epic: str | None
    rank: int
    blocked: bool
    hypothesis: str | None
    metric: str | None
    target: str | None
    outcome: str | None
    needs_outcome: bool = Field(
        description="True for an experiment whose outcome is still pending: it cannot be done."
    )
    result: str | None
    version: int = Field(description="Send it back with a change; a stale one answers 409.")
    created_at: Moment
    updated_at: Moment
    updated_by: str | None
    history: list[Event] | None = None


class StoryList(Out):
    stories: list[StoryOut]
    next_cursor: str | None = Field(
        None, description="Send it as `cursor` for the next page; null on the last page."
    )


class StoryFields(Body):
    """A story's fields as a client sends them; each may be left out."""

    title: StrictStr | None = None
    description: StrictStr | None = None
    type: StrictStr | None = Field(None, **_one_of(STORY_TYPES, nullable=True))
    stage: StrictStr | None = Field(None, description="A stage key of the project.")
    role: StrictStr | None = Field(None, **_one_of(ROLES, nullable=True))
    points: StrictInt | None = Field(
        None, **_one_of(POINTS_SCALE, "null: unestimated.", nullable=True)
    )
    status: StrictStr | None = Field(None, **_one_of(STATUSES, nullable=True))
    assignee: StrictStr | StrictInt | None = Field(
        None, description="A member's e-mail (or account id); null: unassigned."
    )
    sprint: StrictInt | None = Field(None, description="A sprint id; null: the backlog.")
    epic: StrictStr | None = Field(None, description="An epic key; null: no epic.")
    blocked: StrictBool | None = None
    hypothesis: StrictStr | None = None
    metric: StrictStr | None = None
    target: StrictStr | None = None
    outcome: StrictStr | None = Field(None, **_one_of(OUTCOMES, nullable=True))
    result: StrictStr | None = None


class StoryCreate(StoryFields):
    title: StrictStr


class StoryPatch(StoryFields):
    version: StrictInt = Field(description="The version the change is based on.")


class StoryQuery(BaseModel):
    status: str | None = Field(None, **_one_of(STATUSES, nullable=True))
    sprint: str | None = Field(None, description="A sprint id, or 'backlog'.")
    type: str | None = Field(None, **_one_of(STORY_TYPES, nullable=True))
    stage: str | None = Field(None, description="A stage key, or 'none'.")
    role: str | None = Field(None, description="A functional role key, or 'none'.")
    assignee: str | None = Field(None, description="A member's e-mail, or 'none'.")
    epic: str | None = Field(None, description="An epic key, or 'none'.")
    q: str | None = Field(None, description="Words the title must contain (any case).")
    limit: str | None = Field(None, description="Stories per page, 1-500 (default 200).")
    cursor: str | None = Field(None, description="`next_cursor` of the previous page.")


class Reorder(Body):
    story: StrictInt = Field(description="The story's number, like 12 for FRAUD-12.")
    target: StrictStr | StrictInt = Field(description="'backlog' or a sprint id.")
    before: StrictInt | None = Field(
        None, description="Put it just above this story; null: at the bottom."
    )


class Reordered(Out):
    story: str
    sprint: int | None
    order: list[str]


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
    slip_days: int
    status: Literal["on_track", "at_risk", "late"]
    forecasts: list[ForecastOut]


class MilestoneList(Out):
    milestones: list[MilestoneOut]


class ForecastCreate(Body):
    forecast: StrictStr = Field(description="YYYY-MM-DD", json_schema_extra={"format": "date"})
    reported_on: StrictStr | None = Field(
        None, description="YYYY-MM-DD; default today.", json_schema_extra={"format": "date"}
    )
    note: StrictStr | None = None


class Export(BaseModel):
    """The interchange document: docs/interchange.schema.json describes it whole."""

    model_config = ConfigDict(extra="allow")
    format: Literal["planner-export"]
    version: Literal[1]


# --- sprint life ---------------------------------------------------------------------------------


class SprintCreate(Body):
    name: StrictStr
    start: StrictStr = Field(description="YYYY-MM-DD", json_schema_extra={"format": "date"})
    end: StrictStr = Field(description="YYYY-MM-DD", json_schema_extra={"format": "date"})
    goal: StrictStr | None = None


class SprintPatch(Body):
    name: StrictStr | None = None
    goal: StrictStr | None = None
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


# --- comments and history ------------------------------------------------------------------------


class CommentOut(Out):
    id: int
    author: str | None = Field(description="The author's e-mail; null for a former account.")
    author_name: str | None
    body: str = Field(description="Markdown, as written.")
    created_at: Moment


class CommentList(Out):
    comments: list[CommentOut]


class CommentCreate(Body):
    body: StrictStr = Field(description="Markdown; raw HTML is shown as text.")


class History(Out):
    history: list[Event]


# --- epics ---------------------------------------------------------------------------------------


class EpicProgress(Out):
    points_done: int
    points_total: int
    stories_done: int
    stories_total: int
    unestimated: int
    percent: int = Field(description="Points done of total (stories when nothing is estimated).")


class EpicOut(Out):
    key: str
    title: str
    description: str | None
    stage: str | None
    milestone: int | None = Field(description="The milestone's id.")
    archived: bool
    progress: EpicProgress


class EpicList(Out):
    epics: list[EpicOut]


class EpicFields(Body):
    title: StrictStr | None = None
    description: StrictStr | None = None
    stage: StrictStr | None = Field(None, description="A stage key of the project; null: none.")
    milestone: StrictInt | None = Field(None, description="A milestone id; null: none.")


class EpicCreate(EpicFields):
    title: StrictStr


class EpicPatch(EpicFields):
    archived: StrictBool | None = Field(None, description="true archives it; false restores it.")


# --- risks ---------------------------------------------------------------------------------------


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


class RiskList(Out):
    risks: list[RiskOut]


class RiskFields(Body):
    title: StrictStr | None = None
    description: StrictStr | None = None
    category: StrictStr | None = Field(None, **_one_of(RISK_CATEGORIES, nullable=True))
    likelihood: StrictInt | None = Field(None, description="1-5")
    impact: StrictInt | None = Field(None, description="1-5")
    owner: StrictStr | StrictInt | None = Field(None, description="A member's e-mail; null: none.")
    mitigation: StrictStr | None = None
    status: StrictStr | None = Field(None, **_one_of(RISK_STATUSES, nullable=True))
    milestone: StrictInt | None = Field(None, description="A milestone id; null: none.")
    review_on: StrictStr | None = Field(
        None, description="YYYY-MM-DD; null: none.", json_schema_extra={"format": "date"}
    )
    stories: list[StrictStr] | None = Field(None, description="Story keys, like FRAUD-12.")


class RiskCreate(RiskFields):
    title: StrictStr
    category: StrictStr = Field(**_one_of(RISK_CATEGORIES))
    likelihood: StrictInt = Field(description="1-5")
    impact: StrictInt = Field(description="1-5")


class MilestoneFields(Body):
    name: StrictStr | None = None
    description: StrictStr | None = None
    stage: StrictStr | None = Field(None, description="A stage key; null: none.")
    baseline: StrictStr | None = Field(
        None,
        description="YYYY-MM-DD: the date first promised.",
        json_schema_extra={"format": "date"},
    )
    epics: list[StrictStr] | None = Field(
        None, description="Keys of the epics that deliver it (replaces the list)."
    )


class MilestoneCreate(MilestoneFields):
    name: StrictStr
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


# --- members, stages and settings ----------------------------------------------------------------


class MemberList(Out):
    members: list[MemberOut]


class MemberCreate(Body):
    email: StrictStr = Field(description="Someone with an account (see docs/rules.md, People).")
    access: StrictStr = Field(**_one_of(ACCESS_LEVELS))
    roles: list[StrictStr] = Field(default_factory=list, description="Functional role keys.")


class MemberPatch(Body):
    access: StrictStr | None = Field(None, **_one_of(ACCESS_LEVELS, nullable=True))
    roles: list[StrictStr] | None = Field(None, description="Replaces the member's roles.")


class StageList(Out):
    stages: list[StageOut]


class StageCreate(Body):
    key: StrictStr = Field(description="lowercase letters, digits and _, like safety_review")
    name: StrictStr


class StagePatch(Body):
    name: StrictStr | None = None
    archived: StrictBool | None = None


class StageOrder(Body):
    keys: list[StrictStr] = Field(description="Every stage key of the project, in the new order.")


class ProjectSettings(Body):
    name: StrictStr | None = None
    description: StrictStr | None = None
    timezone: StrictStr | None = Field(None, description="An IANA name, like Europe/Berlin.")
    working_days: list[StrictInt] | None = Field(
        None, description="ISO weekdays, 1 = Monday .. 7 = Sunday."
    )
    sprint_length_days: StrictInt | None = Field(None, description="1-56")
    slip_tolerance_days: StrictInt | None = Field(None, description="0-365")
    holidays: list[StrictStr] | None = Field(
        None, description="YYYY-MM-DD days off (replaces the list)."
    )


class ProjectCreate(ProjectSettings):
    key: StrictStr = Field(description="2-10 capital letters or digits, like FRAUD.")
    name: StrictStr


class ProjectCalendar(ProjectDetail):
    holidays: list[Date]


# --- share links ---------------------------------------------------------------------------------


class ShareLinkOut(Out):
    id: int
    label: str
    prefix: str = Field(description="The token's first characters, to tell links apart.")
    created_by: str | None
    created_at: Moment
    expires_on: Date | None
    revoked_at: Moment | None
    state: Literal["live", "revoked", "expired", "stopped"]


class ShareLinkList(Out):
    links: list[ShareLinkOut]


class ShareLinkCreate(Body):
    label: StrictStr = Field(description="Who it is for, like Steering committee.")
    expires_on: StrictStr | None = Field(
        None,
        description="Its last day, YYYY-MM-DD; null: no end.",
        json_schema_extra={"format": "date"},
    )


class ShareLinkCreated(ShareLinkOut):
    url: str = Field(description="The read-only dashboard's address; shown this once.")


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
