"""API bodies: stories, comments, history, epics."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from planner.api.schemas.base import (
    Body,
    CommentText,
    Description,
    Long,
    Moment,
    Out,
    Short,
    Title,
    _one_of,
)
from planner.api.schemas.links import LinkOut
from planner.api.schemas.outcomes import OutcomeRecordOut
from planner.api.schemas.story_parts import ChecklistCount
from planner.models.story import TEXT_FIELDS
from planner.vocab import (
    OUTCOMES,
    POINTS_SCALE,
    ROLES,
    STATUSES,
    STORY_TYPES,
)

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
    imported_from: str | None = Field(
        default=None, description="The issue key an import took it from (a Jira key), or null."
    )
    labels: list[str] = Field(default_factory=list, description="The story's label names, A to Z.")
    # story_parts: one story's own answer (GET and PATCH /stories/KEY) carries these three.
    blocked_by: list[str] | None = Field(
        None, description="Keys of the stories that block this one (one story's answer only)."
    )
    blocks: list[str] | None = Field(None, description="Keys of the stories this one blocks.")
    checklist: ChecklistCount | None = Field(None, description="Checklist items done and total.")
    links: list[LinkOut] | None = Field(
        None, description="Artefact links with live details (GET of one story only)."
    )
    outcome_record: OutcomeRecordOut | None = Field(
        None, description="The latest recorded outcome, with its run (one story's answer only)."
    )
    history: list[Event] | None = None


class StoryList(Out):
    stories: list[StoryOut]
    next_cursor: str | None = Field(
        None, description="Send it as `cursor` for the next page; null on the last page."
    )


class StoryFields(Body):
    """A story's fields as a client sends them; each may be left out."""

    title: Title | None = None
    description: Description | None = None
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
    hypothesis: Long | None = None
    metric: Short | None = None
    target: Short | None = None
    outcome: StrictStr | None = Field(None, **_one_of(OUTCOMES, nullable=True))
    result: Long | None = None


class StoryCreate(StoryFields):
    title: Title


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
    label: str | None = Field(None, description="A label's name (any case).")
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
    body: CommentText = Field(description="Markdown; raw HTML is shown as text.")


class TextChange(Out):
    at: Moment
    field: str = Field(**_one_of(TEXT_FIELDS))
    from_: str | None = Field(alias="from", description="The text before the edit.")
    to: str | None = Field(description="The text after the edit.")
    by: str | None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class History(Out):
    history: list[Event] = Field(
        description="Changes of tracked fields (status, points, sprint, stage, role, assignee): "
        "the charts are computed from these."
    )
    text_changes: list[TextChange] = Field(
        description="Edits of the title, description and experiment texts, oldest first; "
        "recorded for people to read, never counted in a chart."
    )


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
    links: list[LinkOut] | None = Field(
        None, description="Artefact links with live details (GET of one epic only)."
    )


class EpicList(Out):
    epics: list[EpicOut]


class EpicFields(Body):
    title: Title | None = None
    description: Description | None = None
    stage: StrictStr | None = Field(None, description="A stage key of the project; null: none.")
    milestone: StrictInt | None = Field(None, description="A milestone id; null: none.")


class EpicCreate(EpicFields):
    title: Title


class EpicPatch(EpicFields):
    archived: StrictBool | None = Field(None, description="true archives it; false restores it.")
