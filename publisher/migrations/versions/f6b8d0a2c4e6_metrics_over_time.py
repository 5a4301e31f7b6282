"""metrics over time: snapshots, pulls and each publication's next pull

Published publications have their metrics pulled on a decaying schedule; each pull is
stored (a snapshot per publication, a refusal as a row with its error), and a pull's
platform requests are counted against the channel's read budget.

Revision ID: f6b8d0a2c4e6
Revises: e5a7c9e1f3b5
Create Date: 2026-11-30 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from publisher.db import UTCDateTime

revision: str = "f6b8d0a2c4e6"
down_revision: str | None = "e5a7c9e1f3b5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("publication") as batch:
        batch.add_column(sa.Column("metrics_due_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("metrics_step", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("metrics_failures", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_index("ix_publication_metrics_due", "publication", ["metrics_due_at"])
    # What was published before starts its schedule now (points already past are skipped).
    op.execute(
        "UPDATE publication SET metrics_due_at = published_at "
        "WHERE status = 'published' AND published_at IS NOT NULL"
    )
    op.create_table(
        "metric_pull",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workspace_id", sa.Integer(), sa.ForeignKey("workspace.id"), nullable=False),
        sa.Column("channel_id", sa.Integer(), sa.ForeignKey("channel.id"), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("publications", sa.Integer(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("lease_until", UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=2000), nullable=True),
    )
    op.create_index("ix_metric_pull_workspace_id", "metric_pull", ["workspace_id"])
    op.create_index("ix_metric_pull_channel_at", "metric_pull", ["channel_id", "at"])
    op.create_table(
        "metric_snapshot",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workspace_id", sa.Integer(), sa.ForeignKey("workspace.id"), nullable=False),
        sa.Column("publication_id", sa.Integer(), sa.ForeignKey("publication.id"), nullable=False),
        sa.Column("pull_id", sa.Integer(), sa.ForeignKey("metric_pull.id"), nullable=True),
        sa.Column("taken_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.Column("error", sa.String(length=2000), nullable=True),
    )
    op.create_index("ix_metric_snapshot_workspace_id", "metric_snapshot", ["workspace_id"])
    op.create_index(
        "ix_metric_snapshot_publication_taken", "metric_snapshot", ["publication_id", "taken_at"]
    )


def downgrade() -> None:
    op.drop_table("metric_snapshot")
    op.drop_table("metric_pull")
    op.drop_index("ix_publication_metrics_due", table_name="publication")
    with op.batch_alter_table("publication") as batch:
        batch.drop_column("metrics_failures")
        batch.drop_column("metrics_step")
        batch.drop_column("metrics_due_at")
