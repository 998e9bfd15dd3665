"""API bodies: a story's dependencies and checklist."""

from __future__ import annotations

from pydantic import Field, StrictBool, StrictStr

from planner.api.schemas.base import Body, Out, text

ItemText = text(200)


class StoryLink(Out):
    key: str | None = Field(description="The story's key; null for a story you cannot see.")
    title: str | None
    status: str
    done: bool


class Dependencies(Out):
    blocked_by: list[StoryLink] = Field(description="The stories that block this one.")
    blocks: list[StoryLink] = Field(description="The stories this one blocks.")


class DependencyCreate(Body):
    blocked_by: StrictStr = Field(
        description="The key of the blocking story (any project you belong to), like FRAUD-4.",
        json_schema_extra={"maxLength": 40},
    )


class ChecklistCount(Out):
    done: int
    total: int


class ChecklistItemOut(Out):
    id: int
    text: str
    done: bool
    position: int


class Checklist(Out):
    items: list[ChecklistItemOut]
    done: int
    total: int


class ChecklistItemCreate(Body):
    text: ItemText = Field(description="1 to 200 characters; a story has at most 50 items.")
    done: StrictBool = False


class ChecklistItemPatch(Body):
    text: ItemText | None = None
    done: StrictBool | None = None
    move: StrictStr | None = Field(None, json_schema_extra={"enum": ["up", "down", None]})


__all__ = [
    "Checklist",
    "ChecklistCount",
    "ChecklistItemCreate",
    "ChecklistItemOut",
    "ChecklistItemPatch",
    "Dependencies",
    "DependencyCreate",
    "StoryLink",
]
