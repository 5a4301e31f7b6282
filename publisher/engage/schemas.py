"""Engagement's answers: interactions as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from publisher.core.schemas import Id, Output

InteractionKind = Literal["comment", "reply", "mention", "reaction", "like", "repost", "follow"]


class InteractionRead(Output):
    id: int
    channel_id: int
    publication_id: int | None = Field(description="The publication whose post it is on")
    platform: str
    kind: InteractionKind
    external_id: str = Field(description="The platform's id of the interaction")
    post_id: str | None = Field(description="The platform's id of the post it is on")
    author_id: str | None
    author_handle: str | None
    author_name: str | None
    text: str | None
    occurred_at: datetime
    received_at: datetime


class HookReceived(Output):
    received: int = Field(description="Interactions in the delivery")
    stored: int = Field(description="New ones (the rest were known)")


__all__ = ["HookReceived", "Id", "InteractionKind", "InteractionRead"]
