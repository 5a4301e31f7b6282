"""Requests and answers of planning: channels, media, campaigns and posting slots."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    model_validator,
)

from publisher.core.schemas import (
    Id,
    Input,
    Instant,
    Link,
    Name,
    Objective,
    Output,
    Patch,
    PlatformName,
    TimeZone,
    TrackingName,
    TrackingValue,
)

# -- channels ---------------------------------------------------------------------------


class ChannelCreate(Input):
    platform: PlatformName
    name: Name
    external_account_id: Name = Field(description="The X user id or the Facebook Page id")
    credentials: dict[str, Any] = Field(
        description="Write-only; encrypted at rest. X: access_token (OAuth 2.0) or the four "
        "OAuth 1.0a values; Facebook: page_access_token."
    )


class ChannelUpdate(Patch):
    name: Name | None = None
    credentials: dict[str, Any] | None = Field(
        default=None, description="New credentials; a channel that needed re-auth is active again"
    )


class ChannelRead(Output):
    id: int
    platform: str
    name: str
    external_account_id: str
    account_name: str | None = Field(
        default=None,
        description="The account's name on the network (learnt when connected "
        "or checked: POST /v1/channels/{id}/check)",
    )
    account_handle: str | None = Field(default=None, description="Its @handle, without the @")
    status: str
    held_until: datetime | None = Field(description="Throttled by the platform until then")
    created_at: datetime
    updated_at: datetime


class ConnectStarted(Output):
    authorization_url: str = Field(
        description="Send the person who owns the account here; the platform brings them "
        "back to /v1/oauth/callback/{platform}, which creates (or revives) the channel"
    )
    expires_at: datetime = Field(description="The authorization must be completed before then")


class OAuthCallbackQuery(BaseModel):
    """What the platform puts on the redirect back (a code, or the reason it refused)."""

    state: str = Field(default="", max_length=200, description="The grant this answers")
    code: str | None = Field(default=None, max_length=2000)
    error: str | None = Field(default=None, max_length=200)
    error_description: str | None = Field(default=None, max_length=2000)
    error_code: str | None = Field(default=None, max_length=20)
    error_reason: str | None = Field(default=None, max_length=200)


class ConnectedRead(Output):
    channels: list[ChannelRead] = Field(description="Created, or revived with new tokens")


class AccountRead(Output):
    id: str
    name: str
    username: str | None = None


class ChannelCheckRead(Output):
    channel_id: int
    result: Literal["ok", "needs_reauth", "wrong_account", "unavailable", "refused"] = Field(
        description="ok: the platform accepts the credentials; needs_reauth: it refuses "
        "them (the channel waits for new ones); wrong_account: they act as another account "
        "than the channel's (the channel waits, nothing goes out as someone else); "
        "unavailable: the platform did not answer usefully (throttled, down), nothing "
        "changed; refused: it answered with an error"
    )
    detail: str | None = Field(description="The platform's own words when not ok")
    account: AccountRead | None = Field(description="Who the credentials act as")
    same_account: bool | None = Field(
        description="Whether that account is the channel's external_account_id"
    )
    channel_status: str
    checked_at: datetime


# -- media ------------------------------------------------------------------------------


class MediaImport(Input):
    url: Link = Field(
        description="http(s) URL on a public address; at most 3 redirects are followed"
    )


class MediaRead(Output):
    id: int
    content_type: str = Field(description="What the bytes are (sniffed), not what was claimed")
    size_bytes: int
    sha256: str
    width: int | None
    height: int | None
    duration_s: float | None
    filename: str | None
    source_url: str | None
    created_at: datetime


class MediaRef(Input):
    media_id: Id
    alt_text: str | None = Field(default=None, max_length=1000, description="For screen readers")


class MediaRefRead(Output):
    media_id: int
    alt_text: str | None


# -- campaigns --------------------------------------------------------------------------


class CampaignCreate(Input):
    name: Name
    objective: Objective
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    goals: dict[
        Annotated[str, Field(min_length=1, max_length=60)],
        Annotated[float, Field(ge=0, allow_inf_nan=False)],
    ] = Field(
        default_factory=dict, max_length=50, examples=[{"signups": 500, "impressions": 100000}]
    )
    tracking: dict[TrackingName, TrackingValue] | None = Field(
        default=None,
        max_length=10,
        description="Query parameters added to every link of the campaign's posts; "
        "{platform}, {channel_id} and {campaign_id} are filled in per publication. "
        "Fixed once the campaign exists, so an approved link never changes.",
        examples=[{"utm_source": "{platform}", "utm_medium": "social", "utm_campaign": "winter"}],
    )
    short_links: bool = Field(
        default=True,
        description="Links go out as the engine's short links ({PUBLISHER_PUBLIC_URL}/l/{code}, "
        "clicks counted per publication) when PUBLISHER_PUBLIC_URL is set; false sends them "
        "as written. Fixed once the campaign exists, as tracking is.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> CampaignCreate:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class CampaignRead(Output):
    id: int
    name: str
    objective: str
    starts_at: datetime | None
    ends_at: datetime | None
    goals: dict[str, float]
    tracking: dict[str, str] | None = None
    short_links: bool = True
    is_default: bool = Field(
        default=False, description="The workspace's campaign for posts written without one"
    )
    created_at: datetime


# -- posting slots ----------------------------------------------------------------------

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class Slot(Input):
    day: Weekday
    time: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["09:00"])


class SlotsIn(Input):
    time_zone: TimeZone
    slots: list[Slot] = Field(max_length=7 * 48, description="An empty list removes the timetable")


class SlotsRead(Output):
    channel_id: int
    time_zone: str | None
    slots: list[dict[str, str]]
    next_free: list[datetime] = Field(description="The next free slots, soonest first")
