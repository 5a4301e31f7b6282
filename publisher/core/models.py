"""Table models. Request and response models live in each wing's `schemas` modules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlmodel import Field, SQLModel

from publisher.core.db import UTCDateTime, utcnow


class Workspace(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(200), unique=True, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    name: str = Field(max_length=200)
    role: str = Field(max_length=20)
    prefix: str = Field(sa_column=Column(String(16), unique=True, nullable=False))
    key_hash: str = Field(max_length=64)
    # Where the key's holder lives: review items show times there.
    time_zone: str | None = Field(default=None, max_length=64)
    # The language its holder reads (a BCP 47 tag): the review page speaks it.
    language: str | None = Field(default=None, max_length=35)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Channel(SQLModel, table=True):
    # One channel per platform account in a workspace (a second is a 409).
    __table_args__ = (
        Index("ux_channel_account", "workspace_id", "platform", "external_account_id", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    platform: str = Field(max_length=40)
    name: str = Field(max_length=200)
    external_account_id: str = Field(max_length=200)
    # The account as the platform names it (its display name and @handle), learnt when
    # it was connected or checked: previews show it as the network would.
    account_name: str | None = Field(default=None, max_length=200)
    account_handle: str | None = Field(default=None, max_length=200)
    credentials: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: str = Field(default="active", max_length=20)
    # Set when the platform throttles the account: nothing goes out on it before then.
    held_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When its audience (followers) is next read (publisher/engage/audience.py); none: now.
    audience_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The weekly posting timetable "add to queue" fills: {"time_zone": ..., "slots": [...]}.
    slots: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Campaign(SQLModel, table=True):
    __table_args__ = (
        # A workspace's default campaign (posts written without one), at most one.
        Index(
            "ux_campaign_default",
            "workspace_id",
            unique=True,
            postgresql_where=text("is_default"),
            sqlite_where=text("is_default"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    name: str = Field(max_length=200)
    objective: str = Field(max_length=20)
    starts_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ends_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    goals: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Query parameters added to every link the campaign's posts send (utm_source=...);
    # set at creation only, so a link cannot change after it was approved.
    tracking: dict[str, str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # Links go out as the engine's short links (clicks counted) when PUBLISHER_PUBLIC_URL
    # is set; set at creation only, as tracking is.
    short_links: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=true())
    )
    is_default: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Media(SQLModel, table=True):
    """An uploaded or imported file; the bytes live in the media directory by SHA-256."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    sha256: str = Field(max_length=64, index=True)
    content_type: str = Field(max_length=100)  # sniffed from the bytes, never trusted
    size_bytes: int
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    filename: str | None = Field(default=None, max_length=255)
    source_url: str | None = Field(default=None, max_length=2048)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Post(SQLModel, table=True):
    """The content; `revision` and `content_hash` change with every edit."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    text: str
    link: str | None = Field(default=None, max_length=2048)
    # An X post this one quotes (its id); elsewhere its link goes along.
    quote_of: str | None = Field(default=None, max_length=30)
    # Attached media, in order: [{"media_id": 3, "alt_text": "..."}].
    media: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # Further parts after `text` when the post is a thread (a chain of replies on X).
    thread: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # Wording per platform or per channel: [{"platform"|"channel_id", "text", "link"}].
    variants: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    revision: int = 1
    content_hash: str = Field(max_length=64)
    created_by: int | None = Field(default=None, foreign_key="api_key.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Series(SQLModel, table=True):
    """A recurring target: one post on one channel, repeated by an RFC 5545 RRULE whose
    times are wall-clock times in `time_zone`. Occurrences are materialised ahead as
    publications; the committee approves the series' content once for all of them."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    channel_id: int = Field(foreign_key="channel.id", index=True)
    rule: str = Field(max_length=500)
    time_zone: str = Field(max_length=64)
    # DTSTART as a local wall-clock time, ISO 8601 without offset.
    starts_local: str = Field(max_length=19)
    # The last occurrence made into a publication (local wall-clock time), None before any.
    last_local: str | None = Field(default=None, max_length=19)
    # The instant of the first occurrence not materialised yet (the sweep's index).
    next_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    # The revision the series was sent to review with, and the one approved: occurrences
    # made later start in review, or scheduled, only while the content is still that one.
    submitted_hash: str | None = Field(default=None, max_length=64)
    approved_hash: str | None = Field(default=None, max_length=64)
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_by: int | None = Field(default=None, foreign_key="api_key.id")
    # Set when the rule has no more occurrences, or the series was cancelled or rejected.
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Publication(SQLModel, table=True):
    """One (post, channel, time): the unit that is scheduled, approved, published."""

    __table_args__ = (
        UniqueConstraint("post_id", "channel_id", "scheduled_at", name="uq_publication_occurrence"),
        # The dispatcher reads only what is due: (status, due_at) keeps that flat.
        Index("ix_publication_status_due", "status", "due_at"),
        # Budgets count a channel's claims within a rate window (publisher/deliver/budgets.py).
        Index("ix_publication_channel_claimed", "channel_id", "claimed_at"),
        # The metrics pass reads only the publications whose next pull is due.
        Index("ix_publication_metrics_due", "metrics_due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    channel_id: int = Field(foreign_key="channel.id", index=True)
    series_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer,
            ForeignKey("series.id", name="fk_publication_series_id"),
            index=True,
            nullable=True,
        ),
    )
    status: str = Field(default="draft", max_length=20)
    scheduled_at: datetime = Field(sa_type=UTCDateTime)
    time_zone: str = Field(max_length=64)
    # When the dispatcher may next hand it over: scheduled_at, or later after a hold.
    due_at: datetime = Field(sa_type=UTCDateTime)
    approved_hash: str | None = Field(default=None, max_length=64)
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_by: int | None = Field(default=None, foreign_key="api_key.id")
    queued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The process that made the last claim (publisher/core/procs.py): a dead one's claims are
    # settled without waiting for their lease.
    claimed_by: str | None = Field(default=None, max_length=120)
    attempts: int = 0
    external_id: str | None = Field(default=None, max_length=200)
    external_url: str | None = Field(default=None, max_length=2048)
    # A thread's parts on the platform, in order, as they go out: a retry resumes after them.
    part_ids: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = None
    # Engagement (publisher/engage/metrics.py): when its metrics are next pulled (None:
    # not published, or the schedule is done), and how many pulls of it were stored.
    metrics_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    metrics_step: int = 0
    metrics_failures: int = 0  # pulls failed in a row at this point of the schedule
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Review(SQLModel, table=True):
    """A reviewer's decision on one revision of a publication's content."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    publication_id: int = Field(foreign_key="publication.id", index=True)
    reviewer_id: int = Field(foreign_key="api_key.id")
    decision: str = Field(max_length=20)
    comment: str = ""
    revision: int
    content_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Event(SQLModel, table=True):
    """Append-only audit record of every state change (the database refuses UPDATE and
    DELETE on it: see the migration that made it so)."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    post_id: int | None = Field(default=None, foreign_key="post.id", index=True)
    publication_id: int | None = Field(default=None, foreign_key="publication.id", index=True)
    channel_id: int | None = Field(default=None, foreign_key="channel.id")
    kind: str = Field(max_length=60)
    actor: str = Field(max_length=100)
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str | None = Field(default=None, max_length=20)
    reason: str | None = None
    # Structured detail: an edit's diff, a vote's revision, a reminder's deadline.
    data: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PostRevision(SQLModel, table=True):
    """Every revision's content as it was, so a reviewer sees what changed since their vote."""

    __tablename__ = "post_revision"
    __table_args__ = (UniqueConstraint("post_id", "revision", name="uq_post_revision"),)

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    revision: int
    content: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    content_hash: str = Field(max_length=64)
    author_id: int | None = Field(default=None, foreign_key="api_key.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReviewPolicy(SQLModel, table=True):
    """Who must approve: the workspace's rule (campaign_id None) or a campaign's override."""

    __tablename__ = "review_policy"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", index=True)
    rules: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    updated_by: str = Field(max_length=100)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Comment(SQLModel, table=True):
    """A remark in a post's discussion; `parent_id` makes the thread."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    parent_id: int | None = Field(default=None, foreign_key="comment.id")
    author_id: int | None = Field(default=None, foreign_key="api_key.id")
    body: str
    revision: int  # the revision on screen when it was written
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Webhook(SQLModel, table=True):
    """A workspace's subscription: these event topics, POSTed signed to this URL."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    url: str = Field(max_length=2048)
    topics: list[str] = Field(sa_column=Column(JSON, nullable=False))
    secret: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # sealed
    description: str = Field(default="", max_length=200)
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    """One event for one subscription: its payload, attempts and last answer."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int = Field(foreign_key="webhook.id", index=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="event.id")
    topic: str = Field(max_length=60)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=20)  # pending | delivered | failed
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    response_status: int | None = None
    error: str | None = None
    redelivery_of: int | None = Field(default=None, foreign_key="webhook_delivery.id")
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Pause(SQLModel, table=True):
    """A crisis stop or manual pause of a workspace, a campaign or a channel."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    scope: str = Field(max_length=20)  # workspace | campaign | channel
    scope_id: int
    reason: str
    on_resume: str = Field(default="auto", max_length=20)  # auto | publish | skip | review
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resumed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    resumed_by: str | None = Field(default=None, max_length=100)


class DispatcherLease(SQLModel, table=True):
    """The fencing token of the current dispatcher leader (one row, id 1)."""

    __tablename__ = "dispatcher_lease"

    id: int = Field(default=1, primary_key=True)
    token: int = 0
    holder: str = Field(default="", max_length=200)
    acquired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# Engagement's tables live beside (publisher/core/engagement_models.py): here for one import.
from publisher.core.engagement_models import (  # noqa: E402
    AudienceSnapshot,
    Conversion,
    ForgottenIdentity,
    InboundDelivery,
    Interaction,
    Member,
    MemberIdentity,
    MetricPull,
    MetricSnapshot,
)
from publisher.core.oauth_models import OAuthGrant  # noqa: E402

__all__ = [
    "AudienceSnapshot",
    "Conversion",
    "ForgottenIdentity",
    "InboundDelivery",
    "Interaction",
    "Member",
    "MemberIdentity",
    "MetricPull",
    "MetricSnapshot",
    "OAuthGrant",
]
