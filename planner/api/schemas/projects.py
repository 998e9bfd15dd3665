"""API bodies: projects, members, stages, settings, share links, the export."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from planner.api.schemas.base import Body, Date, Description, Moment, Name, Out, ShortName, _one_of
from planner.vocab import (
    ACCESS_LEVELS,
)

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
    imported_at: Moment | None = Field(
        default=None,
        description="Set when an import created the sprint (a Jira CSV has no sprint history): "
        "its chart numbers before this moment are approximate.",
    )


class ProjectDetail(ProjectSummary):
    mlflow_tracking_uri: str | None = Field(
        None, description="The project's MLflow tracking server; null: the site's default."
    )
    enforce_gates: bool = Field(
        False, description="Stories behind an open or failed gate cannot start."
    )
    stages: list[StageOut]
    members: list[MemberOut]
    sprints: list[SprintOut]


class SprintList(Out):
    sprints: list[SprintOut]


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
    name: ShortName


class StagePatch(Body):
    name: ShortName | None = None
    archived: StrictBool | None = None


class StageOrder(Body):
    keys: list[StrictStr] = Field(description="Every stage key of the project, in the new order.")


class ProjectSettings(Body):
    name: Name | None = None
    description: Description | None = None
    timezone: StrictStr | None = Field(None, description="An IANA name, like Europe/Berlin.")
    working_days: list[StrictInt] | None = Field(
        None, description="ISO weekdays, 1 = Monday .. 7 = Sunday."
    )
    sprint_length_days: StrictInt | None = Field(None, description="1-56")
    slip_tolerance_days: StrictInt | None = Field(None, description="0-365")
    holidays: list[StrictStr] | None = Field(
        None, description="YYYY-MM-DD days off (replaces the list)."
    )
    mlflow_tracking_uri: StrictStr | None = Field(
        None,
        description="The http(s) address of the team's MLflow tracking server; null or '': the "
        "site's default (PLANNER_MLFLOW_TRACKING_URI). Local stores are the operator's to set.",
        json_schema_extra={"maxLength": 500},
    )
    enforce_gates: StrictBool | None = Field(
        None, description="Refuse to start stories behind an open or failed gate."
    )


class ProjectCreate(ProjectSettings):
    key: StrictStr = Field(description="2-10 capital letters or digits, like FRAUD.")
    name: Name


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
    label: Name = Field(description="Who it is for, like Steering committee.")
    expires_on: StrictStr | None = Field(
        None,
        description="Its last day, YYYY-MM-DD; null: no end.",
        json_schema_extra={"format": "date"},
    )


class ShareLinkCreated(ShareLinkOut):
    url: str = Field(description="The read-only dashboard's address; shown this once.")


class Export(BaseModel):
    """The interchange document: docs/interchange.schema.json describes it whole."""

    model_config = ConfigDict(extra="allow")
    format: Literal["planner-export"]
    version: Literal[1]
