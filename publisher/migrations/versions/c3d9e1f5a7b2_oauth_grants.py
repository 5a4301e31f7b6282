"""oauth grants: accounts connected through the platforms' consent pages

Revision ID: c3d9e1f5a7b2
Revises: a8c3e5f7b9d2
Create Date: 2026-11-29 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

import publisher.db

revision: str = "c3d9e1f5a7b2"
down_revision: str | None = "a8c3e5f7b9d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oauth_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("redirect_uri", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("verifier", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", publisher.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", publisher.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", publisher.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("state"),
    )
    op.create_index("ix_oauth_grant_workspace_id", "oauth_grant", ["workspace_id"])


def downgrade() -> None:
    op.drop_index("ix_oauth_grant_workspace_id", table_name="oauth_grant")
    op.drop_table("oauth_grant")
