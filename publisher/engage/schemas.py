"""Engagement's answers: interactions as the API shows them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from publisher.core.schemas import Id, Input, Instant, Name, Output, TimeZone

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


ConversionKind = Literal["signup", "referral", "subscription", "purchase", "custom"]
_CODE = r"^[A-Z0-9]{8}$"


class IdentityIn(Input):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"platform": "x", "account_id": "7007"}]}
    )

    platform: str = Field(
        pattern=r"^[a-z][a-z0-9_]{0,39}$",
        examples=["x"],
        description="The network (x, facebook...)",
    )
    account_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=190,
        pattern=r"^[\x21-\x7e]+$",
        description="Their account's id there (what the network's webhooks name)",
    )
    handle: str | None = Field(
        default=None,
        min_length=1,
        max_length=190,
        pattern=r"^@?[A-Za-z0-9_.]+$",
        examples=["@alice"],
        description="Their @handle there, when the id is not known",
    )

    @model_validator(mode="after")
    def _one(self) -> IdentityIn:
        if (self.account_id is None) == (self.handle is None):
            raise ValueError("give account_id or handle, one of the two")
        return self


class IdentityRead(Output):
    platform: str
    account_id: str | None
    handle: str | None


class MemberIn(Input):
    external_id: str = Field(
        min_length=1, max_length=200, description="Your id for the person (your CRM's)"
    )
    name: Name | None = None
    identities: list[IdentityIn] = Field(
        default_factory=list, max_length=20, description="How they are known on the networks"
    )

    @field_validator("external_id")
    @classmethod
    def _visible(cls, value: str) -> str:
        if not value.strip() or "\x00" in value:
            raise ValueError("must have visible characters and no NUL")
        return value


class MemberRead(Output):
    id: int
    external_id: str = Field(description="Your id for them (erased:<id> once erased)")
    name: str | None
    referral_code: str | None = Field(description="Their code to recruit others, once made")
    referred_by: int | None = Field(description="The member who recruited them")
    identities: list[IdentityRead] = Field(default_factory=list)
    first_seen_at: datetime
    opted_out_at: datetime | None = None
    merged_into: int | None = Field(
        default=None, description="Merged into this member: it stands for them now"
    )
    erased_at: datetime | None = None
    created_at: datetime


class MemberUpdate(Input):
    opted_out: bool = Field(description="They asked to hear nothing more (false: they came back)")


class MergeIn(Input):
    member_id: Id = Field(description="The member to merge into this one (the same person)")
    reason: str = Field(min_length=1, max_length=500, description="Kept in the audit log")


class EraseIn(Input):
    reason: str = Field(
        min_length=1, max_length=500, description="Kept in the audit log (no personal data)"
    )


class MemberSummaryRead(Output):
    member_id: int = Field(description="The member who stands for them (after merges)")
    first_seen_at: datetime
    last_seen_at: datetime
    interactions: dict[str, int] = Field(description="On the networks, by kind")
    conversions: dict[str, int] = Field(description="Results reported for them, by kind")
    campaigns: list[int] = Field(description="The campaigns those served")
    recruits: int = Field(description="Members their referral code brought")
    opted_out_at: datetime | None


class ReferralCodeRead(Output):
    member_id: int
    code: str = Field(description="Give it to the member; events that name it credit them")


class EventIn(Input):
    kind: ConversionKind
    name: str | None = Field(
        default=None, min_length=1, max_length=100, description="Your name for a custom event"
    )
    campaign_id: Id | None = Field(default=None, description="The campaign it counts for")
    member: MemberIn | None = Field(
        default=None, description="Who it is (made a member on first sight)"
    )
    referral_code: str | None = Field(
        default=None, pattern=_CODE, description="The code of the member who recruited them"
    )
    value_cents: int | None = Field(default=None, ge=0, le=10**12, description="In cents")
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$", examples=["EUR"])
    occurred_at: Instant | None = Field(default=None, description="Default: when received")

    @model_validator(mode="after")
    def _complete(self) -> EventIn:
        if self.kind == "custom" and not self.name:
            raise ValueError("a custom event needs its name")
        if (self.value_cents is None) != (self.currency is None):
            raise ValueError("give value_cents and currency together")
        return self


class ConversionRead(Output):
    id: int
    kind: ConversionKind
    name: str | None
    campaign_id: int | None
    member_id: int | None
    referrer_id: int | None = Field(description="The member whose referral code it named")
    value_cents: int | None
    currency: str | None
    occurred_at: datetime
    created_at: datetime


class TrackedLinkRead(Output):
    code: str
    url: str = Field(description="The short link as it went out")
    target: str = Field(description="Where it leads, the campaign's tracking included")
    clicks: int = Field(description="Clicks by people (bots apart)")
    bots: int = Field(description="Clicks by crawlers and link previewers")
    agents: dict[str, int] = Field(
        description="Clicks by kind of client: desktop, mobile, unknown, bot"
    )
    created_at: datetime


class ReportQuery(Input):
    from_: Instant | None = Field(
        default=None,
        alias="from",
        description="Start of the window (default: the campaign's start, else its creation)",
    )
    to: Instant | None = Field(
        default=None, description="End of the window, excluded (default: its end, else now)"
    )
    compare: Literal["previous"] | None = Field(
        default=None, description="previous: the same figures over the window just before"
    )
    time_zone: TimeZone = Field(default="UTC", description="The days of `by_day` are this zone's")
    format: Literal["json", "csv", "png"] = Field(
        default="json",
        description="csv: one line per publication (also with Accept: text/csv); png: charts "
        "by day and by channel (also with Accept: image/png)",
    )

    @model_validator(mode="after")
    def _window(self) -> ReportQuery:
        if self.from_ and self.to:
            if self.to <= self.from_:
                raise ValueError("to must be after from")
            if (self.to - self.from_).days > 400:
                raise ValueError("a report covers 400 days at most")
        return self


class FiguresRead(Output):
    publications: int = Field(description="Published in the window")
    impressions: int
    reach: int = Field(description="Summed over publications (one person may count twice)")
    likes: int
    shares: int
    replies: int
    quotes: int
    bookmarks: int
    link_clicks: int = Field(description="As the platforms count them")
    profile_clicks: int
    engagements: int = Field(description="likes + shares + replies + quotes + bookmarks")
    engagement_rate: float | None = Field(description="engagements / impressions")
    clicks: int = Field(description="Through the engine's short links, by people")
    bot_clicks: int = Field(description="Through the short links, by crawlers and previewers")
    click_through_rate: float | None = Field(
        description="Clicks on the publications counted here / their impressions (clicks "
        "on earlier publications are in `clicks`, not in the rate)"
    )
    conversions: dict[str, int] = Field(
        description="Results your systems reported, by kind (custom ones as custom:<name>)"
    )
    value_cents: dict[str, int] = Field(description="Their value, by currency")
    new_members: int = Field(description="Members with a result here, first seen in the window")
    returning_members: int = Field(description="Members with a result here, seen before it")


class GoalRead(Output):
    name: str
    target: float
    actual: int | None = Field(description="null: no figure measures a goal of this name")
    progress: float | None = Field(description="actual / target")


class PublicationFiguresRead(Output):
    publication_id: int
    channel_id: int
    platform: str
    published_at: datetime
    metrics: dict[str, int] = Field(description="As its last pull before the window's end found")
    engagements: int
    engagement_rate: float | None
    clicks: int
    click_through_rate: float | None


class ChannelFiguresRead(FiguresRead):
    channel_id: int
    channel_name: str
    platform: str


class DayFiguresRead(FiguresRead):
    day: date


class AdvocateRead(Output):
    member_id: int
    external_id: str | None = Field(description="null once the member's data was erased")
    name: str | None
    results: int = Field(description="Results their referral code brought in the window")


class ComparisonRead(Output):
    model_config = ConfigDict(
        from_attributes=True, serialize_by_alias=True, validate_by_name=True, validate_by_alias=True
    )

    from_: datetime = Field(alias="from")
    to: datetime
    totals: FiguresRead
    change: dict[str, float | None] = Field(
        description="Relative change of each count to this window (null from 0)"
    )


class ReportRead(Output):
    model_config = ConfigDict(
        from_attributes=True, serialize_by_alias=True, validate_by_name=True, validate_by_alias=True
    )

    campaign_id: int
    campaign_name: str
    objective: str
    from_: datetime = Field(alias="from")
    to: datetime
    time_zone: str
    totals: FiguresRead
    goals: list[GoalRead]
    by_channel: list[ChannelFiguresRead]
    by_day: list[DayFiguresRead]
    best: list[PublicationFiguresRead] = Field(description="Most engagements first (3 at most)")
    worst: list[PublicationFiguresRead] = Field(description="Fewest first, not among the best")
    advocates: list[AdvocateRead] = Field(description="Whose referrals brought the most")
    compare: ComparisonRead | None = None


class BestTimesQuery(Input):
    time_zone: TimeZone | None = Field(
        default=None, description="Default: the channel's posting slots' zone, else UTC"
    )
    count: int = Field(default=5, ge=1, le=48, description="How many best hours")
    min_posts: int = Field(
        default=2, ge=1, le=100, description="Posts an hour needs before its results count"
    )


class HourRead(Output):
    day: str = Field(description="monday ... sunday, in the zone")
    time: str = Field(description="The hour's start, HH:00")
    publications: int
    impressions: int
    engagements: int
    engagements_per_publication: float | None
    engagement_rate: float | None
    interactions: int = Field(description="What the audience did in that hour (any post)")


class BestHourRead(HourRead):
    basis: Literal["posts", "audience"] = Field(
        description="posts: its posts did best; audience: the audience was busiest then "
        "(not enough posts to judge)"
    )


class BestTimesRead(Output):
    model_config = ConfigDict(
        from_attributes=True, serialize_by_alias=True, validate_by_name=True, validate_by_alias=True
    )

    channel_id: int
    time_zone: str
    from_: datetime = Field(alias="from")
    to: datetime
    best: list[BestHourRead] = Field(description="Best first")
    hours: list[HourRead] = Field(description="Every hour of the week with anything in it")


class SlotsFromBestTimes(Input):
    count: int = Field(default=5, ge=1, le=48, description="How many slots a week")
    time_zone: TimeZone | None = Field(
        default=None, description="Default: the channel's posting slots' zone, else UTC"
    )
    min_posts: int = Field(default=2, ge=1, le=100)


class CommunityQuery(Input):
    from_: Instant = Field(alias="from", description="Start of the window")
    to: Instant = Field(description="End of the window, excluded")
    weeks: int = Field(default=8, ge=1, le=52, description="Retention cohorts: how many weeks")

    @model_validator(mode="after")
    def _window(self) -> CommunityQuery:
        if self.to <= self.from_:
            raise ValueError("to must be after from")
        if (self.to - self.from_).days > 400:
            raise ValueError("a report covers 400 days at most")
        return self


class CampaignLineRead(FiguresRead):
    campaign_id: int
    campaign_name: str
    objective: str
    goals: list[GoalRead]


class CohortRead(Output):
    week: int = Field(description="0: the window's first week")
    starts_at: datetime
    members: int = Field(description="Members first seen that week")
    retention: list[float] = Field(
        description="For each following week in the window, the share of them active in it"
    )


class CommunityRead(Output):
    model_config = ConfigDict(
        from_attributes=True, serialize_by_alias=True, validate_by_name=True, validate_by_alias=True
    )

    from_: datetime = Field(alias="from")
    to: datetime
    totals: FiguresRead = Field(description="Every campaign's figures added up")
    new_followers: int = Field(description="Follows of the workspace's accounts (audience growth)")
    interactions: dict[str, int] = Field(description="On the networks, by kind")
    active_members: int = Field(description="Members with a result or an interaction in it")
    members: int = Field(description="Members known by the window's end (merged ones once)")
    campaigns: list[CampaignLineRead]
    cohorts: list[CohortRead]
