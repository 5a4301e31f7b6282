"""Requests and answers about pauses and resumes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import (
    Field,
)

from publisher.core.schemas import Id, Input, Output, Text

# -- pauses -----------------------------------------------------------------------------

Scope = Literal["workspace", "campaign", "channel"]


class PauseCreate(Input):
    scope: Scope
    id: Id | None = Field(
        default=None, description="The campaign or channel id; omit for the workspace"
    )
    reason: Text = Field(max_length=2000)
    on_resume: Literal["auto", "publish", "skip", "review"] = Field(
        default="auto",
        description="What publications that missed their time do on resume: publish now, "
        "skip (cancel), go back to review, or auto (review when more than 15 minutes late)",
    )


class ResumeRequest(Input):
    scope: Scope
    id: Id | None = None


class PauseRead(Output):
    id: int
    scope: str
    scope_id: int
    reason: str
    on_resume: str
    created_by: str
    created_at: datetime
    resumed_at: datetime | None


class PauseResult(Output):
    pause: PauseRead
    paused: list[int] = Field(description="Publications stopped by this call")
    in_flight: list[int] = Field(
        description="Already at the platform: they finish and are reported"
    )


class ResumeResult(Output):
    pause: PauseRead
    rescheduled: list[int]
    to_review: list[int]
    skipped: list[int]
