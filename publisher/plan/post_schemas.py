"""Requests and answers about posts: targets, variants, publications, series, metrics."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from publisher.core.schemas import (
    Id,
    Input,
    Instant,
    Link,
    Output,
    Patch,
    Text,
    ThreadPart,
    TimeZone,
    XPost,
)
from publisher.core.states import Status
from publisher.plan.schemas import MediaRef, MediaRefRead

# -- posts ------------------------------------------------------------------------------


def _rule(text: str) -> str:
    from publisher.plan.rules import normalise_rule

    return normalise_rule(text)


Rule = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_rule)]


class TargetIn(Input):
    """Where and when: a time (`scheduled_at` + `time_zone`), optionally repeated by
    `recurrence`; or `queue: true` for the channel's next free posting slot."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "channel_id": 1,
                    "scheduled_at": "2030-01-07T09:00:00+01:00",
                    "time_zone": "Europe/Paris",
                }
            ]
        }
    )

    channel_id: Id
    scheduled_at: Instant | None = Field(
        default=None,
        description="ISO 8601 with an offset, e.g. 2026-12-01T09:00:00+01:00; with "
        "`recurrence`, the first occurrence (DTSTART)",
    )
    time_zone: TimeZone | None = Field(
        default=None,
        description="IANA time zone the time is planned in and shown in. Optional: "
        "scheduled_at carries its offset; left out, the channel's zone (its posting slots') is "
        "used, else the API key's, else UTC. Required with `recurrence`, which keeps its "
        "wall-clock time across daylight-saving changes",
    )
    recurrence: Rule | None = Field(
        default=None,
        description="RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=MO,TH or "
        "FREQ=MONTHLY;BYMONTHDAY=1;COUNT=6; HOURLY or coarser. Local times the zone skips "
        "are moved forward by the gap; repeated ones mean the first (RFC 5545 3.3.5).",
        examples=["FREQ=WEEKLY;BYDAY=MO"],
    )
    queue: bool = Field(
        default=False, description="Take the channel's next free posting slot instead of a time"
    )

    @model_validator(mode="after")
    def _one_way_to_say_when(self) -> TargetIn:
        if self.queue:
            if self.scheduled_at is not None or self.recurrence is not None:
                raise ValueError(
                    "queue: true takes the next slot; leave out scheduled_at and recurrence"
                )
            if self.time_zone is not None:
                raise ValueError(
                    "queue: true uses the time zone of the channel's slots; leave out time_zone"
                )
        elif self.scheduled_at is None:
            raise ValueError("give scheduled_at (with its offset), or queue: true")
        elif self.recurrence is not None and self.time_zone is None:
            raise ValueError(
                "a recurrence repeats at a wall-clock time: give the time_zone it is planned in"
            )
        return self


class VariantIn(Input):
    """Wording for one platform or one channel; what it leaves out comes from the post."""

    platform: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,39}$", examples=["x"])
    channel_id: Id | None = None
    text: Text | None = None
    link: Link | None = Field(
        default=None, description="Another link here; null: no link here (the post's is dropped)"
    )
    media: list[MediaRef] | None = Field(
        default=None, max_length=10, description="Other attachments here; [] for none"
    )
    thread: list[ThreadPart] | None = Field(
        default=None,
        max_length=49,
        description="Other further parts here; [] for none (a variant that says it all in "
        "one post). Left out: the post's",
    )

    @field_validator("link", mode="before")
    @classmethod
    def _empty_link(cls, value: object) -> object:
        if value == "":
            raise ValueError("an empty link: send null for no link on this platform or channel")
        return value

    @property
    def drops_link(self) -> bool:
        """`"link": null` given: this platform or channel gets no link at all."""
        return "link" in self.model_fields_set and self.link is None

    @model_validator(mode="after")
    def _one_scope_and_something(self) -> VariantIn:
        if (self.platform is None) == (self.channel_id is None):
            raise ValueError("give exactly one of platform, channel_id")
        if (
            self.text is None
            and self.link is None
            and self.media is None
            and self.thread is None
            and not self.drops_link
        ):
            raise ValueError("give text, link, media or thread: a variant changes something")
        return self

    def stored(self) -> dict[str, Any]:
        stored: dict[str, Any] = {
            "platform": self.platform,
            "channel_id": self.channel_id,
            "text": self.text,
            "link": str(self.link) if self.link else None,
        }
        if self.drops_link:
            stored["no_link"] = True
        if self.media is not None:
            stored["media"] = [{"media_id": m.media_id, "alt_text": m.alt_text} for m in self.media]
        if self.thread is not None:
            stored["thread"] = list(self.thread)
        return stored


def _distinct_scopes(variants: list[VariantIn] | None) -> list[VariantIn] | None:
    scopes = [(v.platform, v.channel_id) for v in variants or []]
    if len(scopes) != len(set(scopes)):
        raise ValueError("one variant per platform and per channel")
    return variants


Variants = Annotated[list[VariantIn], Field(max_length=50), AfterValidator(_distinct_scopes)]


class VariantRead(Output):
    platform: str | None
    channel_id: int | None
    text: str | None
    link: str | None
    no_link: bool = Field(default=False, description="This platform or channel gets no link")
    media: list[MediaRefRead] | None = None
    thread: list[str] | None = Field(
        default=None, description="This platform's or channel's further parts; [] for none"
    )


class PostCreate(Input):
    campaign_id: Id | None = Field(
        default=None,
        description="The campaign the post serves; left out, the workspace's default "
        'campaign ("Everyday posts", made on first use)',
    )
    text: Text
    link: Link | None = None
    variants: Variants = Field(
        default_factory=list,
        description="Other wording per platform or per channel (a channel's own variant "
        "wins over its platform's); each field left out comes from the post",
    )
    thread: list[ThreadPart] = Field(
        default_factory=list,
        max_length=49,
        description="Further parts after `text`: on X a thread (each part a reply to the "
        "one before); on platforms without threads, one post with the parts a blank line apart",
    )
    media: list[MediaRef] = Field(
        default_factory=list, max_length=10, description="Attachments (from POST /v1/media)"
    )
    quote_of: XPost | None = Field(
        default=None,
        description="An X post to quote (id or link); on other platforms its link goes along",
    )
    targets: list[TargetIn] = Field(min_length=1, max_length=50)

    @field_validator("targets")
    @classmethod
    def _one_target_per_channel(cls, targets: list[TargetIn]) -> list[TargetIn]:
        ids = [t.channel_id for t in targets]
        if len(ids) != len(set(ids)):
            raise ValueError("each channel may be targeted once per post")
        return targets


class PostUpdate(Patch):
    text: Text | None = None
    link: Link | None = Field(default=None, description="null: no link")
    variants: Variants | None = Field(default=None, description="Replaces every variant")
    thread: list[ThreadPart] | None = Field(
        default=None, max_length=49, description="Replaces the further parts; [] removes them"
    )
    media: list[MediaRef] | None = Field(
        default=None, max_length=10, description="Replaces the attachments; [] removes them"
    )
    quote_of: XPost | None = Field(default=None, description="null: quote nothing")

    NULLABLE = frozenset({"link", "quote_of"})


class PublicationRead(Output):
    id: int
    post_id: int
    channel_id: int
    series_id: int | None = Field(description="The recurring series it is an occurrence of")
    status: Status
    scheduled_at: datetime
    time_zone: str
    scheduled_local: str
    approved_at: datetime | None
    attempts: int
    external_id: str | None
    external_url: str | None
    part_ids: list[str] = Field(description="A thread's posts on the platform so far, in order")
    published_at: datetime | None
    last_error: str | None
    updated_at: datetime


class TakeDown(Input):
    reason: Text = Field(max_length=2000, description="Why it comes down (kept in the audit)")


class PostMetrics(Output):
    external_id: str
    metrics: dict[str, int]


class MetricsRead(Output):
    publication_id: int
    platform: str
    fetched_at: datetime | None = Field(
        description="When the platform answered these metrics (with ?history=1, the last "
        "pull's that got any; null: none did yet)"
    )
    metrics: dict[str, int] = Field(
        description="Totals over the publication's posts (a thread's parts add up): "
        "impressions, reach, likes, shares, replies, quotes, bookmarks, link_clicks, "
        "profile_clicks, as far as the platform reports them"
    )
    posts: list[PostMetrics]
    missing: list[str] = Field(description="Post ids the platform no longer has")
    history: list[SnapshotRead] | None = Field(
        default=None,
        description="With ?history=1: every stored pull, oldest first (then `metrics` are "
        "the last pull's that got any, nothing is asked of the platform, `posts` is empty)",
    )
    next_pull_at: datetime | None = Field(
        default=None, description="With ?history=1: when the next pull is due (null: done)"
    )


class SnapshotRead(Output):
    taken_at: datetime
    metrics: dict[str, int] | None = Field(description="Totals of that pull; null when it failed")
    error: str | None = Field(description="Why that pull got nothing (a refusal, a limit)")


class MetricsQuery(Input):
    history: bool = Field(
        default=False, description="The stored pulls instead of asking the platform now"
    )


class SeriesRead(Output):
    id: int
    channel_id: int
    rule: str
    time_zone: str
    starts_local: str
    last_local: str | None = Field(description="The last occurrence made into a publication")
    approved: bool
    ended_at: datetime | None
    upcoming: list[datetime] = Field(description="Next occurrences, not materialised yet")


class PostRead(Output):
    id: int
    campaign_id: int
    text: str
    link: str | None
    variants: list[VariantRead]
    thread: list[str]
    media: list[MediaRefRead]
    quote_of: str | None
    revision: int
    content_hash: str
    created_at: datetime
    updated_at: datetime
    publications: list[PublicationRead]
    series: list[SeriesRead]
