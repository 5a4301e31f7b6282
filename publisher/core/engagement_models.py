"""Engagement's table models: what the platforms said of published posts, pull by pull."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from publisher.core.db import UTCDateTime


class MetricSnapshot(SQLModel, table=True):
    """A publication's metrics as one pull found them (summed over a thread's parts), or
    why that pull got nothing: a refusal is a row with its `error`, never a zero."""

    __tablename__ = "metric_snapshot"
    __table_args__ = (Index("ix_metric_snapshot_publication_taken", "publication_id", "taken_at"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    publication_id: int = Field(foreign_key="publication.id")
    pull_id: int | None = Field(default=None, foreign_key="metric_pull.id")
    taken_at: datetime = Field(sa_type=UTCDateTime)
    # SQL NULL for a refusal (JSON's own `null` would read as "found" to `IS NOT NULL`).
    metrics: dict[str, int] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True), nullable=True)
    )
    error: str | None = Field(default=None, max_length=2000)


class MetricPull(SQLModel, table=True):
    """One pull job's requests to a channel's platform: the read budget counts `calls`."""

    __tablename__ = "metric_pull"
    __table_args__ = (Index("ix_metric_pull_channel_at", "channel_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    channel_id: int = Field(foreign_key="channel.id")
    at: datetime = Field(sa_type=UTCDateTime)
    publications: int = 0
    calls: int = 0  # planned when handed over, then the requests the job made
    # The publications are leased to this pull until then (their metrics_due_at); a pull
    # handed over again, or run twice, touches none it no longer holds.
    lease_until: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: str | None = Field(default=None, max_length=2000)
    # Refused by the platform's rate limit: when it said to ask again. The channel's reads
    # (live, scheduled) wait for it.
    retry_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AudienceSnapshot(SQLModel, table=True):
    """How many followed a channel's account when it was read (daily, inside the channel's
    read budget: its MetricPull), or the platform's refusal: never a hole read as zero."""

    __tablename__ = "audience_snapshot"
    __table_args__ = (Index("ix_audience_snapshot_channel_taken", "channel_id", "taken_at"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    channel_id: int = Field(foreign_key="channel.id")
    pull_id: int | None = Field(default=None, foreign_key="metric_pull.id")
    taken_at: datetime = Field(sa_type=UTCDateTime)
    followers: int | None = Field(default=None, sa_type=BigInteger)
    error: str | None = Field(default=None, max_length=2000)


class Interaction(SQLModel, table=True):
    """Someone engaging with a channel's account or one of its posts, as the platform's
    webhook said: a comment, reply, mention, reaction, like, repost or follow."""

    __table_args__ = (
        UniqueConstraint("channel_id", "kind", "external_id", name="uq_interaction_event"),
        Index("ix_interaction_publication", "publication_id", "occurred_at"),
        Index("ix_interaction_member", "member_id", "occurred_at"),
        Index("ix_interaction_campaign", "campaign_id", "occurred_at", "member_id", "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    channel_id: int = Field(foreign_key="channel.id")
    publication_id: int | None = Field(default=None, foreign_key="publication.id")
    platform: str = Field(max_length=40)
    kind: str = Field(max_length=20)
    external_id: str = Field(max_length=200)
    post_id: str | None = Field(default=None, max_length=200)
    author_id: str | None = Field(default=None, max_length=200)
    author_handle: str | None = Field(default=None, max_length=200)
    author_name: str | None = Field(default=None, max_length=200)
    text: str | None = Field(default=None, max_length=10000)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime = Field(sa_type=UTCDateTime)
    # The member whose identity the author is (set when either is known; moved on a
    # merge; kept when the member is erased: the interaction stays theirs, anonymous).
    member_id: int | None = Field(default=None, foreign_key="member.id")
    # The campaign its publication served (a campaign's reports count by it).
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id")


class InboundDelivery(SQLModel, table=True):
    """A webhook delivery accepted from a platform, by the digest of its signed body: the
    same body again is a replay, refused."""

    __tablename__ = "inbound_delivery"

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=40)
    digest: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    received_at: datetime = Field(sa_type=UTCDateTime)
    events: int = 0


class Member(SQLModel, table=True):
    """A community member: someone your systems know (`external_id`, your id for the
    person) or someone who interacted with a channel's account or posts (known by their
    identities there, no id of yours until a result or a call names them); `referred_by`
    says who recruited them."""

    __table_args__ = (UniqueConstraint("workspace_id", "external_id", name="uq_member_external"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    external_id: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    referral_code: str | None = Field(
        default=None, sa_column=Column(String(16), unique=True, nullable=True)
    )
    referred_by: int | None = Field(default=None, foreign_key="member.id")
    first_seen_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    # They asked to hear nothing more (the client's systems act on it; reports count it).
    opted_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Merged into another member (explicitly, audited): what named this one names that one.
    merged_into: int | None = Field(default=None, foreign_key="member.id")
    # Their personal data erased on request: the row stays, anonymous, for the aggregates.
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class MemberIdentity(SQLModel, table=True):
    """How a member is known on a network: their account id there, or their @handle
    (lower case, without the @). Interactions by that account are theirs."""

    __tablename__ = "member_identity"
    __table_args__ = (
        UniqueConstraint("workspace_id", "platform", "key", name="uq_member_identity"),
        Index("ix_member_identity_member", "member_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id")
    member_id: int = Field(foreign_key="member.id")
    platform: str = Field(max_length=40)
    key: str = Field(max_length=201)  # "id:<account id>" or "@<handle>"
    created_at: datetime = Field(sa_type=UTCDateTime)


class ForgottenIdentity(SQLModel, table=True):
    """An identity of a member whose personal data was erased, kept as a digest only
    (publisher/engage/forgotten.py): what that account does on the network again is
    counted, anonymous, and makes no member of them, until your systems give the identity
    to a member again. `member_id` is the erased (anonymous) member: which identities
    were one person's."""

    __tablename__ = "forgotten_identity"
    __table_args__ = (
        UniqueConstraint("workspace_id", "platform", "digest", name="uq_forgotten_identity"),
        Index("ix_forgotten_identity_member", "member_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id")
    member_id: int = Field(foreign_key="member.id")
    platform: str = Field(max_length=40)
    # A handle (else an account id): a handle names only some authors (forgotten.names).
    by_handle: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    digest: str = Field(max_length=64)  # SHA-256 of the workspace, platform and key
    created_at: datetime = Field(sa_type=UTCDateTime)


class Conversion(SQLModel, table=True):
    """Something the client's systems report as a result (a sign-up, a referral, a
    subscription, a purchase, their own kind), attributed to a campaign, a member and
    who referred them; an idempotency key makes a retried report count once."""

    __table_args__ = (
        UniqueConstraint("workspace_id", "idempotency_key", name="uq_conversion_key"),
        Index("ix_conversion_campaign_at", "campaign_id", "occurred_at"),
        Index("ix_conversion_publication", "publication_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    kind: str = Field(max_length=20)
    name: str | None = Field(default=None, max_length=100)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id")
    member_id: int | None = Field(default=None, foreign_key="member.id")
    referrer_id: int | None = Field(default=None, foreign_key="member.id")
    value_cents: int | None = None
    currency: str | None = Field(default=None, max_length=3)
    # Through a short link: the link, its publication, and the click the landing page was
    # given (`pub_click`): the click is then the member's.
    link_id: int | None = Field(default=None, foreign_key="tracked_link.id")
    publication_id: int | None = Field(default=None, foreign_key="publication.id")
    click_key: str | None = Field(default=None, max_length=32)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    idempotency_key: str = Field(max_length=200)
    request_digest: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)


class TrackedLink(SQLModel, table=True):
    """A link of a publication as it went out: `{PUBLISHER_PUBLIC_URL}/l/{code}`, which
    leads to `target` (the link with its campaign's tracking). One code per link per
    publication, the same on every attempt (publisher/plan/links.py)."""

    __tablename__ = "tracked_link"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    publication_id: int = Field(foreign_key="publication.id", index=True)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id")
    code: str = Field(sa_column=Column(String(16), unique=True, nullable=False))
    target: str = Field(max_length=4000)
    created_at: datetime = Field(sa_type=UTCDateTime)


class LinkClick(SQLModel, table=True):
    """A click through a tracked link: when, where from (the referring site's host only)
    and what kind of client (a person's browser, or a bot apart). No IP address kept."""

    __tablename__ = "link_click"
    __table_args__ = (
        Index("ix_link_click_link_at", "link_id", "at"),
        # Covers a report's two reads of a window's clicks (no row is fetched).
        Index("ix_link_click_campaign_at", "campaign_id", "at", "publication_id", "bot"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Each click's own key: a batch of buffered clicks written twice counts once.
    key: str = Field(sa_column=Column(String(32), unique=True, nullable=False))
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    link_id: int = Field(foreign_key="tracked_link.id")
    publication_id: int = Field(foreign_key="publication.id")
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id")
    at: datetime = Field(sa_type=UTCDateTime)
    referrer_host: str | None = Field(default=None, max_length=253)
    agent: str = Field(max_length=10)  # desktop, mobile, bot, unknown
    bot: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))


class ClickDay(SQLModel, table=True):
    """A campaign's clicks on one publication in one UTC day, people's and bots' apart:
    what a report reads for the whole days of its window instead of every click. Kept by
    the transaction that writes the clicks, from the clicks it wrote
    (publisher/engage/clicks.py): a batch written twice counts once here too."""

    __tablename__ = "click_day"
    __table_args__ = (
        UniqueConstraint("campaign_id", "publication_id", "day", "bot", name="uq_click_day"),
        # Covers a report's read of a window's days (no row is fetched).
        Index("ix_click_day_campaign", "campaign_id", "day", "publication_id", "bot", "count"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    publication_id: int = Field(foreign_key="publication.id")
    day: date
    bot: bool = Field(sa_column=Column(Boolean, nullable=False))
    count: int


class ClickBucket(SQLModel, table=True):
    """A campaign's clicks in one five minutes (UTC), people's and bots' apart: a report's
    clicks by day in any time zone, read from a few thousand rows. Kept like ClickDay."""

    __tablename__ = "click_bucket"
    __table_args__ = (
        UniqueConstraint("campaign_id", "bucket", "bot", name="uq_click_bucket"),
        Index("ix_click_bucket_campaign", "campaign_id", "bucket", "bot", "count"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    bucket: datetime = Field(sa_type=UTCDateTime)  # the five minutes' start
    bot: bool = Field(sa_column=Column(Boolean, nullable=False))
    count: int
