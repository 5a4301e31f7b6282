"""Reports' and best times' questions and answers (engage/reports, community, best_times)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from publisher.core.schemas import Input, Instant, Output, TimeZone


class ReportQuery(Input):
    from_: Instant | None = Field(
        default=None,
        alias="from",
        description="Start of the window (default: the campaign's start, else its creation; "
        "at most 400 days before the end)",
    )
    to: Instant | None = Field(
        default=None, description="End of the window, excluded (default: its end, else now)"
    )
    compare: Literal["previous"] | None = Field(
        default=None, description="previous: the same figures over the window just before"
    )
    time_zone: TimeZone = Field(default="UTC", description="The days of `by_day` are this zone's")
    weeks: int = Field(default=8, ge=1, le=52, description="Retention cohorts: how many weeks")
    format: Literal["json", "csv", "png"] = Field(
        default="json",
        description="csv: one line per publication (also with Accept: text/csv); png: charts "
        "by day and by channel (also with Accept: image/png)",
    )

    @model_validator(mode="after")
    def _window(self) -> ReportQuery:
        if self.from_ and self.to and self.to <= self.from_:
            raise ValueError("to must be after from")
        return self


class FiguresRead(Output):
    publications: int = Field(description="Published in the window")
    # Each metric: the sum as the platforms reported it; null where publications were out
    # and none of them was counted by it (X reports no reach, Facebook no bookmarks).
    impressions: int | None
    reach: int | None = Field(description="Summed over publications (one person may count twice)")
    likes: int | None
    shares: int | None
    replies: int | None
    quotes: int | None
    bookmarks: int | None
    link_clicks: int | None = Field(description="As the platforms count them")
    profile_clicks: int | None
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
    referrals: int = Field(
        description="Recruits: sign-ups that named a member's referral code, and results "
        "reported as referrals (each once)"
    )
    new_members: int = Field(
        description="Members active here (a result or an interaction of theirs), first seen "
        "by the community in the window: recruitment"
    )
    returning_members: int = Field(
        description="Members active here, seen by the community before the window: loyalty"
    )


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
    conversions: dict[str, int] = Field(
        description="Results in the window that came through its short links, by kind"
    )


_CAMPAIGN_WIDE = "null here: counted for the campaign as a whole (in `totals`)"


class ChannelFiguresRead(FiguresRead):
    channel_id: int
    channel_name: str
    platform: str
    conversions: dict[str, int] = Field(
        description="Results that came through the channel's short links, by kind (a result "
        "that named no link is the campaign's alone: in the totals, as are values, recruits "
        "and members)"
    )
    value_cents: dict[str, int] | None = Field(default=None, description=_CAMPAIGN_WIDE)
    referrals: int | None = Field(default=None, description=_CAMPAIGN_WIDE)
    new_members: int | None = Field(default=None, description=_CAMPAIGN_WIDE)
    returning_members: int | None = Field(default=None, description=_CAMPAIGN_WIDE)


class DayFiguresRead(FiguresRead):
    day: date
    bot_clicks: int | None = Field(
        default=None, description="null here: kept by publication, not by day (in `totals`)"
    )
    new_members: int | None = Field(default=None, description=_CAMPAIGN_WIDE)
    returning_members: int | None = Field(default=None, description=_CAMPAIGN_WIDE)


class AdvocateRead(Output):
    member_id: int
    external_id: str | None = Field(
        description="Your id for them: null while only the networks know them, "
        "erased:<id> once their data was erased"
    )
    name: str | None
    results: int = Field(description="Results their referral code brought in the window")
    relays: int = Field(
        description="Their reposts of the campaign's publications in the window (retweets "
        "and quotes, as the platforms' webhooks said)"
    )


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


class CohortRead(Output):
    week: int = Field(description="0: the window's first week")
    starts_at: datetime
    members: int = Field(
        description="The members whose first week it was (the community's report: first "
        "seen; a campaign's: first active with the campaign)"
    )
    retention: list[float] = Field(
        description="For each following week in the window, the share of them active in it "
        "(the campaign's report: active with the campaign)"
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
    advocates: list[AdvocateRead] = Field(
        description="The members who relayed the campaign most and whose referral codes "
        "brought the most results (both together; at most 5)"
    )
    cohorts: list[CohortRead] = Field(
        description="Week-over-week retention: the members by the week they were first "
        "active with the campaign, and the share of them active with it in each week after"
    )
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
    from_: Instant | None = Field(
        default=None, alias="from", description="Start of the window (default: 30 days before to)"
    )
    to: Instant | None = Field(default=None, description="End of the window, excluded (now)")
    weeks: int = Field(default=8, ge=1, le=52, description="Retention cohorts: how many weeks")

    @model_validator(mode="after")
    def _window(self) -> CommunityQuery:
        if self.from_ and self.to and self.to <= self.from_:
            raise ValueError("to must be after from")
        return self


class CampaignLineRead(FiguresRead):
    campaign_id: int
    campaign_name: str
    objective: str
    goals: list[GoalRead]


class AudienceLineRead(Output):
    channel_id: int
    channel_name: str
    platform: str
    followers_at_start: int | None = Field(
        description="As last read by the window's start (read daily); null: not read by then"
    )
    followers_at_end: int | None = Field(description="As last read before the window's end")
    since: datetime | None = Field(
        description="The read `growth` counts from: the window's start's, or the first in it"
    )
    growth: int | None = Field(description="followers_at_end minus the followers read `since`")


class AudienceSnapshotRead(Output):
    id: int
    channel_id: int
    taken_at: datetime
    followers: int | None = Field(description="How many followed the account then")
    error: str | None = Field(description="The platform's refusal: no count was read")


class CommunityRead(Output):
    model_config = ConfigDict(
        from_attributes=True, serialize_by_alias=True, validate_by_name=True, validate_by_alias=True
    )

    from_: datetime = Field(alias="from")
    to: datetime
    totals: FiguresRead = Field(description="Every campaign's figures added up")
    new_followers: int = Field(description="Follows of the workspace's X accounts, as X told")
    audience: list[AudienceLineRead] = Field(
        description="Each channel's followers, read daily from the platform: audience growth"
    )
    audience_growth: int | None = Field(
        description="The channels' growth added up (null: no channel read by the window's end)"
    )
    interactions: dict[str, int] = Field(description="On the networks, by kind")
    active_members: int = Field(
        description="Members with a result or an interaction in it, in a campaign or not (the "
        "totals' new and returning members are those active in a campaign)"
    )
    members: int = Field(description="Members known by the window's end (merged ones once)")
    campaigns: list[CampaignLineRead]
    cohorts: list[CohortRead]
