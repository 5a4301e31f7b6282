"""members and conversions: results the client's systems report, attributed

Sign-ups, referrals, subscriptions, purchases and the client's own kinds arrive at
POST /v1/events with an idempotency key (a retried report counts once), attributed to a
campaign, a member (known by the client's id) and who referred them (a member's
referral code).

Revision ID: b8d0f2a4c6e8
Revises: a7c9e1b3d5f7
Create Date: 2026-11-30 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from publisher.db import UTCDateTime

revision: str = "b8d0f2a4c6e8"
down_revision: str | None = "a7c9e1b3d5f7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "member",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workspace_id", sa.Integer(), sa.ForeignKey("workspace.id"), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("referral_code", sa.String(length=16), nullable=True, unique=True),
        sa.Column("referred_by", sa.Integer(), sa.ForeignKey("member.id"), nullable=True),
        sa.Column("first_seen_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("workspace_id", "external_id", name="uq_member_external"),
    )
    op.create_index("ix_member_workspace_id", "member", ["workspace_id"])
    op.create_table(
        "conversion",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workspace_id", sa.Integer(), sa.ForeignKey("workspace.id"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaign.id"), nullable=True),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("member.id"), nullable=True),
        sa.Column("referrer_id", sa.Integer(), sa.ForeignKey("member.id"), nullable=True),
        sa.Column("value_cents", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("occurred_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("workspace_id", "idempotency_key", name="uq_conversion_key"),
    )
    op.create_index("ix_conversion_workspace_id", "conversion", ["workspace_id"])
    op.create_index("ix_conversion_campaign_at", "conversion", ["campaign_id", "occurred_at"])


def downgrade() -> None:
    op.drop_table("conversion")
    op.drop_table("member")
