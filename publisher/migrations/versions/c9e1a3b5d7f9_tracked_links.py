"""tracked links: the engine's short links and the clicks through them

Links in approved content go out as {PUBLISHER_PUBLIC_URL}/l/{code}, one code per link
per publication; GET /l/{code} redirects to the campaign-tagged link and records the
click (time, referring host, kind of client, bots apart; no IP address). A campaign may
opt out (short_links, set at creation).

Revision ID: c9e1a3b5d7f9
Revises: b8d0f2a4c6e8
Create Date: 2026-11-30 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from publisher.db import UTCDateTime

revision: str = "c9e1a3b5d7f9"
down_revision: str | None = "b8d0f2a4c6e8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(
            sa.Column("short_links", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.create_table(
        "tracked_link",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workspace_id", sa.Integer(), sa.ForeignKey("workspace.id"), nullable=False),
        sa.Column("publication_id", sa.Integer(), sa.ForeignKey("publication.id"), nullable=False),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaign.id"), nullable=True),
        sa.Column("code", sa.String(length=16), nullable=False, unique=True),
        sa.Column("target", sa.String(length=4000), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_tracked_link_workspace_id", "tracked_link", ["workspace_id"])
    op.create_index("ix_tracked_link_publication_id", "tracked_link", ["publication_id"])
    op.create_table(
        "link_click",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(length=32), nullable=False, unique=True),
        sa.Column("workspace_id", sa.Integer(), sa.ForeignKey("workspace.id"), nullable=False),
        sa.Column("link_id", sa.Integer(), sa.ForeignKey("tracked_link.id"), nullable=False),
        sa.Column("publication_id", sa.Integer(), sa.ForeignKey("publication.id"), nullable=False),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaign.id"), nullable=True),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("referrer_host", sa.String(length=253), nullable=True),
        sa.Column("agent", sa.String(length=10), nullable=False),
        sa.Column("bot", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_link_click_workspace_id", "link_click", ["workspace_id"])
    op.create_index("ix_link_click_link_at", "link_click", ["link_id", "at"])
    op.create_index(
        "ix_link_click_campaign_at", "link_click", ["campaign_id", "at", "publication_id", "bot"]
    )


def downgrade() -> None:
    op.drop_table("link_click")
    op.drop_table("tracked_link")
    with op.batch_alter_table("campaign") as batch:
        batch.drop_column("short_links")
