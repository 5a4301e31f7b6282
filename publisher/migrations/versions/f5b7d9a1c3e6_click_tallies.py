"""click tallies: the clicks through each link by five minutes, people's and bots' apart

A report over a window reads the whole five minutes from here and only the clicks at its
two edges one by one (a million clicks were a second on PostgreSQL). The clicks already
stored are tallied here.

Revision ID: f5b7d9a1c3e6
Revises: e3a5c7e9b1d4
Create Date: 2026-11-30 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from publisher.db import UTCDateTime

revision: str = "f5b7d9a1c3e6"
down_revision: str | None = "e3a5c7e9b1d4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "click_tally",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("link_id", sa.Integer(), sa.ForeignKey("tracked_link.id"), nullable=False),
        sa.Column("publication_id", sa.Integer(), sa.ForeignKey("publication.id"), nullable=False),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaign.id"), nullable=True),
        sa.Column("bucket", UTCDateTime(timezone=True), nullable=False),
        sa.Column("bot", sa.Boolean(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.UniqueConstraint("link_id", "bucket", "bot", name="uq_click_tally"),
    )
    op.create_index(
        "ix_click_tally_campaign_bucket",
        "click_tally",
        ["campaign_id", "bucket", "publication_id", "bot", "count"],
    )
    # The clicks stored so far, tallied by their five minutes (as the engine writes them).
    if op.get_bind().dialect.name == "postgresql":
        bucket = "to_timestamp(floor(extract(epoch from at) / 300) * 300)"
    else:  # stored as text, "YYYY-MM-DD HH:MM:SS.ffffff" (UTC)
        bucket = (
            "substr(at, 1, 15) || CASE WHEN substr(at, 16, 1) < '5' THEN '0' ELSE '5' END"
            " || '\\:00.000000'"  # (a colon escaped from the text's bind parameters)
        )
    op.execute(
        "INSERT INTO click_tally (link_id, publication_id, campaign_id, bucket, bot, count) "
        f"SELECT link_id, publication_id, campaign_id, {bucket}, bot, count(*) "
        f"FROM link_click GROUP BY link_id, publication_id, campaign_id, {bucket}, bot"
    )


def downgrade() -> None:
    op.drop_table("click_tally")
