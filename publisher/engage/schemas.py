"""Engagement's answers: interactions as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from publisher.core.schemas import Id, Input, Instant, Name, Output

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
_LINK_CODE = r"^[a-z2-7]{10}$"  # publisher/plan/links.py
_CLICK = r"^[a-z2-7]{10}[0-9a-f]{22}$"  # publisher/engage/clicks.py: the code, then its own


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


ERASED = "erased:"  # an erased member's external_id: erased:<member id>


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
        if value.lower().startswith(ERASED):  # in any case: "ERASED:1" reads the same
            raise ValueError(f"ids starting {ERASED!r} are the engine's, for erased members")
        return value


class MemberRead(Output):
    id: int
    external_id: str | None = Field(
        description="Your id for them: null while they are known only by their interactions "
        "on the networks (your first result or call naming one of their identities with "
        "your id gives it), erased:<id> once erased"
    )
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
    clicks: int = Field(
        description="Clicks through short links their results came from (`click` on an event)"
    )
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
    link_code: str | None = Field(
        default=None,
        pattern=_LINK_CODE,
        description="The short link the reader came through (`/l/{code}`): the result is "
        "its publication's and its campaign's (a campaign_id given must be that one)",
        examples=["k3xq7m2pza"],
    )
    click: str | None = Field(
        default=None,
        pattern=_CLICK,
        description="The `pub_click` value the reader arrived with: the result is that "
        "click's (and its link's), and the click the member's",
        examples=["k3xq7m2pza0f4c2b9e8d7a6b5c4d3e2f"],
    )
    value_cents: int | None = Field(default=None, ge=0, le=10**12, description="In cents")
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$", examples=["EUR"])
    occurred_at: Instant | None = Field(default=None, description="Default: when received")

    @field_validator("referral_code", "link_code", "click", mode="before")
    @classmethod
    def _any_case(cls, value: object, info) -> object:
        """Codes as people type them: referral codes are upper case, links' lower case."""
        if not isinstance(value, str):
            return value
        return value.upper() if info.field_name == "referral_code" else value.lower()

    @model_validator(mode="after")
    def _complete(self) -> EventIn:
        if self.kind == "custom" and not self.name:
            raise ValueError("a custom event needs its name")
        if (self.value_cents is None) != (self.currency is None):
            raise ValueError("give value_cents and currency together")
        if self.click and self.link_code and not self.click.startswith(self.link_code):
            raise ValueError("the click was not through that link_code")
        return self


class ConversionRead(Output):
    id: int
    kind: ConversionKind
    name: str | None
    campaign_id: int | None
    member_id: int | None
    referrer_id: int | None = Field(description="The member whose referral code it named")
    link_code: str | None = Field(description="The short link it came through")
    publication_id: int | None = Field(description="That link's publication")
    click: str | None = Field(description="The click it came from")
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
