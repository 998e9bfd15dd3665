"""Bodies of notifications, watching and webhooks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool, StrictInt, StrictStr

from planner.api.schemas.base import Body, Moment, Out
from planner.domain.outbox import EVENTS

__all__ = [
    "DeliveryList",
    "DeliveryOut",
    "NotificationList",
    "NotificationOut",
    "NotificationsRead",
    "ReadCount",
    "Watchers",
    "WebhookCreate",
    "WebhookCreated",
    "WebhookList",
    "WebhookOut",
]


class NotificationOut(Out):
    id: int
    project: str
    kind: str = Field(description="assigned, mentioned, commented, updated, milestone, risk, …")
    text: str
    detail: str | None
    url: str = Field(description="The thing it is about, an absolute URL.")
    created_at: Moment
    read_at: Moment | None


class NotificationList(Out):
    notifications: list[NotificationOut]
    unread: int
    next: str | None = Field(description="The next (older) page's URL, or null.")


class NotificationsRead(Body):
    ids: list[StrictInt] | None = Field(None, description="Mark these read.")
    all: StrictBool = Field(False, description="true: mark every notification read.")


class ReadCount(Out):
    marked: int
    unread: int


class Watchers(Out):
    watching: bool = Field(description="Whether the caller watches the story.")
    watchers: list[str] = Field(description="E-mail addresses of everyone watching.")


class WebhookCreate(Body):
    url: StrictStr = Field(json_schema_extra={"maxLength": 2000, "format": "uri"})
    secret: StrictStr | None = Field(
        None, description="16 to 200 characters; omitted or empty: planner makes one."
    )
    events: list[StrictStr] = Field(
        json_schema_extra={"items": {"type": "string", "enum": list(EVENTS)}}
    )


class DeliveryOut(Out):
    id: int = Field(description="Also X-Planner-Delivery; stable across retries.")
    event: str
    state: Literal["pending", "delivered", "failed"]
    attempts: int
    status_code: int | None = Field(description="The receiver's answer to the last attempt.")
    duration_ms: int | None
    error: str | None
    created_at: Moment
    delivered_at: Moment | None
    next_attempt_at: Moment | None


class WebhookOut(Out):
    id: int
    url: str
    events: list[str] = Field(json_schema_extra={"items": {"type": "string", "enum": list(EVENTS)}})
    active: bool
    disabled_reason: str | None
    created_at: Moment


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Signs every delivery; only managers can read it again.")


class WebhookList(Out):
    webhooks: list[WebhookOut]


class DeliveryList(Out):
    deliveries: list[DeliveryOut]
