"""Requests and answers of the record: the audit log and outgoing webhooks."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import AnyHttpUrl, Field, field_validator

from publisher.core.schemas import Input, Instant, Output, Patch
from publisher.record import topics

# -- the audit log ----------------------------------------------------------------------


class EventRead(Output):
    id: int
    kind: str
    actor: str
    at: datetime
    post_id: int | None
    publication_id: int | None
    channel_id: int | None
    from_status: str | None
    to_status: str | None
    reason: str | None
    data: dict[str, Any] | None


class AuditQuery(Input):
    model_config = {"extra": "forbid", "strict": False}
    since: Instant | None = Field(
        default=None, description="ISO 8601 with its UTC offset, e.g. 2026-01-01T00:00:00Z"
    )
    until: Instant | None = Field(default=None, description="ISO 8601 with its UTC offset")

    @field_validator("since", "until", mode="before")
    @classmethod
    def _a_date_time(cls, value: object) -> object:
        # Lax query parsing would read a number ("0.5") as seconds since 1970.
        if isinstance(value, str) and not re.match(r"^\d{4}-\d{2}-\d{2}", value):
            raise ValueError("an ISO 8601 date-time with its offset, e.g. 2026-01-01T00:00:00Z")
        return value

    after_id: int = Field(default=0, ge=0, description="Resume after this event id")


# -- outgoing webhooks ------------------------------------------------------------------

# The topics are topics.TOPICS (derived from the events that publish them): one list.
Topic = Literal[topics.TOPICS]  # type: ignore[valid-type]


class WebhookCreate(Input):
    url: AnyHttpUrl
    topics: list[Topic] = Field(min_length=1, max_length=20)
    description: str = Field(default="", max_length=200)


class WebhookUpdate(Patch):
    url: AnyHttpUrl | None = None
    topics: list[Topic] | None = Field(default=None, min_length=1, max_length=20)
    description: str | None = Field(default=None, max_length=200)
    active: bool | None = None


class WebhookRead(Output):
    id: int
    url: str
    topics: list[str]
    description: str
    active: bool
    created_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(description="Signs every delivery; shown once, keep it")


class DeliveryRead(Output):
    id: int
    webhook_id: int
    topic: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    response_status: int | None
    error: str | None
    redelivery_of: int | None
    delivered_at: datetime | None
    created_at: datetime
    payload: dict[str, Any]
