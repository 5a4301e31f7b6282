"""audience: how many follow each channel's account, read daily

The community report's audience growth counted the follows X's webhooks told of; Pages
and Instagram accounts say nothing of a follow. Each channel's followers are now read
once a day (inside its read budget) and kept as snapshots.

Revision ID: f3b5d7f9a1c3
Revises: e1a3c5e7b9d1
Create Date: 2026-11-30 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from publisher.db import UTCDateTime

revision: str = "f3b5d7f9a1c3"
down_revision: str | None = "e1a3c5e7b9d1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("channel") as batch:
        batch.add_column(sa.Column("audience_due_at", UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "audience_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("pull_id", sa.Integer(), nullable=True),
        sa.Column("taken_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("followers", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(["channel_id"], ["channel.id"]),
        sa.ForeignKeyConstraint(["pull_id"], ["metric_pull.id"]),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_audience_snapshot_channel_taken", "audience_snapshot", ["channel_id", "taken_at"]
    )
    op.create_index("ix_audience_snapshot_workspace_id", "audience_snapshot", ["workspace_id"])


def downgrade() -> None:
    op.drop_index("ix_audience_snapshot_workspace_id", table_name="audience_snapshot")
    op.drop_index("ix_audience_snapshot_channel_taken", table_name="audience_snapshot")
    op.drop_table("audience_snapshot")
    with op.batch_alter_table("channel") as batch:
        batch.drop_column("audience_due_at")
