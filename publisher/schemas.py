"""Request and response models: what the API accepts and returns (never the table models)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from publisher.states import Status

Objective = Literal["awareness", "recruitment", "loyalty", "engagement"]
Role = Literal["admin", "editor", "reviewer", "automation"]


@cache
def time_zone_names() -> tuple[str, ...]:
    """The IANA zones this machine knows: what a `time_zone` accepts, and what the API
    document lists (component TimeZoneName: `x-component` names a component the document
    adds, pydantic would try to resolve a $ref itself)."""
    # Not zones: the host's own setting (its meaning depends on the machine) and tzdata's
    # placeholders.
    return tuple(sorted(available_timezones() - {"localtime", "posixrules", "Factory"}))


def _time_zone(name: str) -> str:
    if name not in time_zone_names():
        raise ValueError(f"unknown IANA time zone {name!r}")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r}") from exc
    return name


# Instants every IANA zone can show (offsets run from -12 h to +14 h): beyond, a local
# time would fall outside years 1 to 9999 and no read could show it.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def _representable(moment: datetime) -> datetime:
    try:
        instant = moment.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("outside the years 0001 to 9999 once in UTC") from exc
    if not EARLIEST <= instant <= LATEST:
        raise ValueError(
            f"must be between {EARLIEST.date().isoformat()} and {LATEST.date().isoformat()} "
            "(UTC), so that every time zone can show it"
        )
    return moment


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty or only spaces")
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text


_X_POST = re.compile(
    r"^(?:https://(?:www\.)?(?:x|twitter)\.com/[^/]+/status(?:es)?/)?(\d{1,25})/?$"
)


def _x_post_id(value: str) -> str:
    match = _X_POST.match(value.strip())
    if not match:
        raise ValueError("an X post id, or its link (https://x.com/<user>/status/<id>)")
    return match.group(1)


XPost = Annotated[str, Field(max_length=300), AfterValidator(_x_post_id)]


def _link(url: HttpUrl) -> str:
    text = str(url)
    if len(text) > 2048:
        raise ValueError("links are limited to 2048 characters")
    return text


# Ids are 32-bit in the database: anything larger is a 422, not a driver error.
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(gt=0, le=MAX_ID)]
# A platform name: the installed adapters' (the API document lists them, PlatformName).
PlatformName = Annotated[
    str,
    Field(min_length=1, max_length=40, examples=["x", "facebook"]),
    WithJsonSchema({"x-component": "PlatformName"}),
]
Link = Annotated[HttpUrl, AfterValidator(_link)]
TimeZone = Annotated[
    str,
    Field(min_length=1, max_length=64),
    AfterValidator(_time_zone),
    WithJsonSchema({"x-component": "TimeZoneName"}),
]
# A point in time a client gives: with its UTC offset, and showable in every zone.
Instant = Annotated[AwareDatetime, AfterValidator(_representable)]
Text = Annotated[str, Field(min_length=1, max_length=100_000), AfterValidator(_not_blank)]
ThreadPart = Annotated[str, Field(min_length=1, max_length=10_000), AfterValidator(_not_blank)]
TrackingName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]{1,40}$")]


def _placeholders(value: str) -> str:
    for name in re.findall(r"{([^{}]*)}", value):
        if name not in ("platform", "channel_id", "campaign_id"):
            raise ValueError(
                f"unknown placeholder {{{name}}}: use {{platform}}, {{channel_id}} "
                "or {campaign_id}"
            )
    return value


TrackingValue = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_placeholders)]
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_not_blank)]


class Input(BaseModel):
    """Every request body: unknown fields are an error, types are not coerced from strings."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _patch_schema(schema: dict[str, Any], model: type[Patch]) -> None:
    """A change's document: at least one field, and null only where it means something."""
    schema["minProperties"] = 1
    for name, prop in schema.get("properties", {}).items():
        prop.pop("default", None)
        if name in model.NULLABLE or "anyOf" not in prop:
            continue
        branches = [b for b in prop["anyOf"] if b != {"type": "null"}]
        if len(branches) == 1:
            rest = {k: v for k, v in prop.items() if k != "anyOf"}
            prop.clear()
            prop.update({**branches[0], **rest})
        else:
            prop["anyOf"] = branches


class Patch(Input):
    """A change: the fields given are changed, the others kept; at least one is given.
    null is refused (naming the field) except in NULLABLE, where the field's description
    says what it removes."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()
    model_config = ConfigDict(json_schema_extra=_patch_schema)

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.NULLABLE:
            raise ValueError(f"{info.field_name} cannot be null: give a value or leave it out")
        return value

    @model_validator(mode="after")
    def _something(self) -> Patch:
        if not self.model_fields_set:
            raise ValueError(f"give at least one of {', '.join(type(self).model_fields)}")
        return self


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


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
        Annotated[str, Field(min_length=1, max_length=60)], Annotated[float, Field(ge=0)]
    ] = Field(default_factory=dict, examples=[{"signups": 500, "impressions": 100000}])
    tracking: dict[TrackingName, TrackingValue] | None = Field(
        default=None,
        max_length=10,
        description="Query parameters added to every link of the campaign's posts; "
        "{platform}, {channel_id} and {campaign_id} are filled in per publication. "
        "Fixed once the campaign exists, so an approved link never changes.",
        examples=[{"utm_source": "{platform}", "utm_medium": "social", "utm_campaign": "winter"}],
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
    is_default: bool = Field(
        default=False, description="The workspace's campaign for posts written without one"
    )
    created_at: datetime


# -- posts ------------------------------------------------------------------------------


def _rule(text: str) -> str:
    from publisher.recurrence import normalise_rule

    return normalise_rule(text)


Rule = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_rule)]


class TargetIn(Input):
    """Where and when: a time (`scheduled_at` + `time_zone`), optionally repeated by
    `recurrence`; or `queue: true` for the channel's next free posting slot."""

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
    fetched_at: datetime
    metrics: dict[str, int] = Field(
        description="Totals over the publication's posts (a thread's parts add up): "
        "impressions, reach, likes, shares, replies, quotes, bookmarks, link_clicks, "
        "profile_clicks, as far as the platform reports them"
    )
    posts: list[PostMetrics]
    missing: list[str] = Field(description="Post ids the platform no longer has")


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


# -- keys -------------------------------------------------------------------------------


class KeyCreate(Input):
    name: Name
    role: Role
    time_zone: TimeZone | None = Field(
        default=None, description="Where its holder lives: review times are shown there"
    )


class KeyCreated(Output):
    id: int
    name: str
    role: str
    prefix: str
    time_zone: str | None = None
    key: str = Field(description="Shown once; store it now")


class KeyRead(Output):
    id: int
    name: str
    role: str
    prefix: str
    time_zone: str | None = None
    created_at: datetime
    revoked_at: datetime | None
