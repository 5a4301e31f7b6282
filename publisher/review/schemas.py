"""Requests and answers of the committee: policies, the queue, votes and comments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from publisher.core.schemas import Id, Input, Output, Text, TimeZone
from publisher.plan.post_schemas import PublicationRead, SeriesRead
from publisher.plan.schemas import MediaRefRead

# -- policies ---------------------------------------------------------------------------


class RequirementIn(Input):
    """Approvals that must come from a group: named reviewers (API key ids) or a role."""

    name: str = Field(min_length=1, max_length=60, examples=["legal"])
    min: int = Field(default=1, ge=1, le=10, description="Approvals needed from this group")
    reviewer_ids: list[Id] = Field(default_factory=list, max_length=50)
    role: Literal["admin", "reviewer"] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> RequirementIn:
        if bool(self.reviewer_ids) == (self.role is not None):
            raise ValueError("name the group by reviewer_ids or by role (one of them)")
        if self.reviewer_ids and self.min > len(set(self.reviewer_ids)):
            raise ValueError(
                f"needs {self.min} approvals from {len(set(self.reviewer_ids))} people"
            )
        return self


Term = Annotated[str, Field(min_length=1, max_length=100)]


class ContentRules(Input):
    """House rules checked on the text as each channel gets it; reviewers see what breaks
    them as findings next to the preview."""

    banned_terms: list[Term] = Field(default_factory=list, max_length=200)
    required_terms: list[Term] = Field(
        default_factory=list, max_length=20, examples=[["#ad"]], description="Each must appear"
    )
    max_hashtags: int | None = Field(default=None, ge=0, le=100)
    max_mentions: int | None = Field(default=None, ge=0, le=100)


class PolicyIn(Input):
    """The whole policy (PUT replaces it): `approvals` at least, so that an empty or lost
    body cannot quietly reset the committee to one approval."""

    approvals: int = Field(ge=1, le=10, description="Distinct approvals needed")
    requirements: list[RequirementIn] = Field(default_factory=list, max_length=10)
    allow_self_approval: bool = Field(
        default=False, description="Whether an author of the post may approve it"
    )
    review_deadline_minutes: int | None = Field(
        default=None,
        ge=0,
        le=60 * 24 * 30,
        description="The committee should decide this long before the scheduled time",
    )
    remind_minutes: int = Field(
        default=60, ge=0, le=60 * 24 * 7, description="A reminder this long before the deadline"
    )
    content_rules: ContentRules = Field(default_factory=ContentRules)
    late_approval_grace_seconds: int = Field(
        default=60,
        ge=0,
        le=3600,
        description="An approval this late after the scheduled time still goes out; "
        "past it the publication expires unpublished",
    )

    @model_validator(mode="after")
    def _fits(self) -> PolicyIn:
        for requirement in self.requirements:
            if requirement.min > self.approvals:
                raise ValueError(
                    f"requirement {requirement.name!r} needs {requirement.min} approvals, "
                    f"more than the policy's {self.approvals}"
                )
        if len({r.name for r in self.requirements}) != len(self.requirements):
            raise ValueError("requirement names must be distinct")
        return self


class PolicyRead(PolicyIn):
    model_config = {"extra": "ignore", "strict": False}
    source: Literal["default", "workspace", "campaign"]
    campaign_id: int | None = None


# -- the queue and votes ----------------------------------------------------------------


class Decision(Input):
    """A vote names the revision it was given on (`revision` of the review item): a vote
    without it could count for text nobody read."""

    comment: str = Field(default="", max_length=5000)
    revision: int = Field(
        ge=1,
        le=2**31 - 1,
        description="The revision you reviewed (the review item's `revision`): a vote on any "
        "other one is a 409 stale_revision",
    )


class CommentRequired(Decision):
    comment: Text = Field(max_length=5000)


class Finding(Output):
    rule: Literal["banned_terms", "required_terms", "max_hashtags", "max_mentions"]
    detail: str = Field(description="In English; the other fields let a client word it")
    term: str | None = Field(default=None, description="The term (banned or required)")
    count: int | None = Field(default=None, description="How many the text has")
    limit: int | None = Field(default=None, description="How many the rule allows")


class PreviewPost(Output):
    number: int = Field(description="1 for the opening post; a thread's parts in order")
    of: int = Field(description="How many posts the content makes on this channel")
    text: str = Field(description="As sent")
    length: int = Field(description="Counted the platform's way (X: weighted, links 23)")
    limit: int
    media: list[MediaRefRead] = Field(description="The media this post carries")


class ShortLinkRead(Output):
    url: str = Field(description="As sent: {PUBLISHER_PUBLIC_URL}/l/{code}")
    target: str = Field(description="Where it leads, the campaign's tracking included")


class Preview(Output):
    platform: str
    platform_name: str = Field(description="The network's name as people say it (X, Facebook)")
    channel_name: str
    account_name: str = Field(
        description="The account as the network names it (else the "
        "channel's name): learnt when it was connected or checked"
    )
    account_handle: str | None = Field(description="@handle, when the network has one")
    text: str
    link: str | None = Field(description="The link as it will be sent, tracking included")
    short_links: list[ShortLinkRead] = Field(
        default_factory=list,
        description="The engine's short links in the content as sent, each with the link "
        "(campaign tracking included) it leads to; none when the campaign opted out or "
        "PUBLISHER_PUBLIC_URL is not set",
    )
    length: int
    limit: int
    unit: str
    problems: list[str]
    parts: list[str] = Field(description="Every post this makes on the platform, as sent")
    posts: list[PreviewPost] = Field(
        default_factory=list, description="The same posts numbered, each measured, with its media"
    )
    media: list[MediaRefRead] = Field(default_factory=list, description="Attached, in order")
    findings: list[Finding] = Field(
        default_factory=list,
        description="What the text as sent here breaks of the review policy's content rules",
    )


class VoteRead(Output):
    reviewer_id: int
    reviewer: str
    decision: str
    comment: str
    revision: int
    current: bool = Field(
        description="Counts now: given on the revision under review since it came into review"
    )
    created_at: datetime


class TallyRead(Output):
    approvals: int = Field(description="Distinct approvals of the current revision")
    needed: int
    missing: list[str] = Field(description="What is still needed, in words")
    short: int = Field(default=0, description="Approvals still needed in all")
    groups: list[tuple[int, str]] = Field(
        default_factory=list,
        description="Of those, how many must come from each named group: [count, group]",
    )


class WordRun(Output):
    op: Literal["equal", "delete", "insert"]
    text: str


class FieldChange(Output):
    field: str
    before: Any
    after: Any
    words: list[WordRun] = Field(
        default_factory=list,
        description="The change word by word (texts and threads; [] for other fields)",
    )


class DiffRead(Output):
    since_revision: int | None = Field(description="The revision last reviewed (None: new)")
    changes: list[FieldChange]
    text_diff: list[str] = Field(description="Unified diff of the text, line by line")


class ReviewItem(Output):
    publication: PublicationRead
    post_id: int
    campaign_id: int
    revision: int
    preview: Preview
    scheduled_local: str = Field(description="The scheduled time in the reviewer's time zone")
    reviewer_time_zone: str
    review_deadline: datetime | None
    votes: list[VoteRead]
    tally: TallyRead
    waiting_on_me: bool = Field(description="Whether your vote is still open and could count")
    diff: DiffRead
    series: SeriesRead | None = Field(
        default=None,
        description="For a recurring post: one item stands for the whole series, and the "
        "decision applies to every occurrence waiting for review",
    )
    occurrences: int = Field(default=1, description="Publications this decision covers")


class ReviewRead(Output):
    id: int
    publication_id: int
    reviewer_id: int
    decision: str
    comment: str
    revision: int
    created_at: datetime
    publication_status: str = Field(description="The publication's state after this vote")
    tally: TallyRead


class BatchItem(Input):
    publication_id: Id
    revision: int = Field(ge=1, description="The revision you reviewed")


class BatchDecision(Input):
    decision: Literal["approve", "request_changes", "reject"]
    comment: str = Field(default="", max_length=5000)
    items: list[BatchItem] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _comment(self) -> BatchDecision:
        if self.decision != "approve" and not self.comment.strip():
            raise ValueError(f"a comment is required to {self.decision.replace('_', ' ')}")
        return self


class BatchOutcome(Output):
    publication_id: int
    status: int = Field(description="What this item alone would have answered")
    review: ReviewRead | None = None
    problem: dict[str, Any] | None = None


class QueueQuery(Input):
    model_config = {"extra": "forbid", "strict": False}
    limit: int = Field(default=50, ge=1, le=500, description="Items per page (1 to 500)")
    cursor: str | None = Field(
        default=None, max_length=200, description="The X-Next-Cursor of the page before"
    )
    campaign_id: Id | None = None
    channel_id: Id | None = None
    waiting_on_me: bool = False
    sort: Literal["scheduled", "deadline", "created", "campaign", "channel"] = "scheduled"
    time_zone: TimeZone | None = Field(
        default=None, description="Show times here (default: your key's time zone, else UTC)"
    )


class ItemQuery(Input):
    model_config = {"extra": "forbid", "strict": False}
    time_zone: TimeZone | None = None


class ReviewLink(Output):
    url: str
    expires_at: datetime


class ReviewLinkRequest(Input):
    reviewer_id: Id | None = Field(
        default=None,
        description="Whose vote the page casts: the caller's own key id (the default); a "
        "link for another key is refused (403), so a committee counts each person once",
    )
    expires_in_hours: int = Field(default=72, ge=1, le=24 * 14)


# -- comments ---------------------------------------------------------------------------


class CommentCreate(Input):
    body: Text = Field(max_length=10_000)
    parent_id: Id | None = Field(default=None, description="The comment this one answers")


class CommentRead(Output):
    id: int
    post_id: int
    parent_id: int | None
    author_id: int | None
    author: str
    body: str
    revision: int
    created_at: datetime
    replies: list[CommentRead] = Field(default_factory=list)
