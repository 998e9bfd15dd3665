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

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from planner.inputs import TEXT_LIMITS


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


def text(limit: int) -> Any:
    """A string field whose length limit the document states (the domain enforces it, with the
    message every entry point gives; see planner/inputs.py)."""
    return Annotated[StrictStr, Field(json_schema_extra={"maxLength": limit})]


Title = text(TEXT_LIMITS["title"])
Name = text(TEXT_LIMITS["name"])
ShortName = text(80)  # sprint and stage names
Description = text(TEXT_LIMITS["description"])
Long = text(TEXT_LIMITS["long"])
Short = text(TEXT_LIMITS["short"])
Goal = text(TEXT_LIMITS["goal"])
Note = text(TEXT_LIMITS["note"])
CommentText = text(TEXT_LIMITS["comment"])

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
