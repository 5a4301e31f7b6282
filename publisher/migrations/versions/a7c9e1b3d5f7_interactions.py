"""interactions from the platforms' webhooks, and the deliveries already taken

Comments, replies, mentions, reactions, likes, reposts and follows arrive signed at
/v1/hooks/{platform}; each becomes an interaction (once: the platform's id is unique per
channel and kind), and each delivery's digest is kept so that a replay is refused.

Revision ID: a7c9e1b3d5f7
Revises: f6b8d0a2c4e6
Create Date: 2026-11-30 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from publisher.db import UTCDateTime

revision: str = "a7c9e1b3d5f7"
down_revision: str | None = "f6b8d0a2c4e6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "interaction",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workspace_id", sa.Integer(), sa.ForeignKey("workspace.id"), nullable=False),
        sa.Column("channel_id", sa.Integer(), sa.ForeignKey("channel.id"), nullable=False),
        sa.Column("publication_id", sa.Integer(), sa.ForeignKey("publication.id"), nullable=True),
        sa.Column("platform", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("post_id", sa.String(length=200), nullable=True),
        sa.Column("author_id", sa.String(length=200), nullable=True),
        sa.Column("author_handle", sa.String(length=200), nullable=True),
        sa.Column("author_name", sa.String(length=200), nullable=True),
        sa.Column("text", sa.String(length=10000), nullable=True),
        sa.Column("occurred_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("channel_id", "kind", "external_id", name="uq_interaction_event"),
    )
    op.create_index("ix_interaction_workspace_id", "interaction", ["workspace_id"])
    op.create_index("ix_interaction_publication", "interaction", ["publication_id", "occurred_at"])
    op.create_table(
        "inbound_delivery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("platform", sa.String(length=40), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False, unique=True),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("inbound_delivery")
    op.drop_table("interaction")
