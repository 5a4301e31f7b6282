"""a default campaign per workspace

A post may be written without a campaign: it goes in its workspace's default campaign,
made on first use. At most one per workspace (a partial unique index).

Revision ID: d4f6b8a0c2e4
Revises: c3e5a7b9d1f2
Create Date: 2026-11-29 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d4f6b8a0c2e4"
down_revision: str | None = "c3e5a7b9d1f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(
            sa.Column("is_default", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index(
        "ux_campaign_default",
        "campaign",
        ["workspace_id"],
        unique=True,
        postgresql_where=sa.text("is_default"),
        sqlite_where=sa.text("is_default"),
    )


def downgrade() -> None:
    op.drop_index("ux_campaign_default", table_name="campaign")
    with op.batch_alter_table("campaign") as batch:
        batch.drop_column("is_default")
