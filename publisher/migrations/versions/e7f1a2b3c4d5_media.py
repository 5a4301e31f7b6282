"""media files and a post's attached media

Revision ID: e7f1a2b3c4d5
Revises: d5e8a9f0c312
Create Date: 2026-11-24 11:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

import publisher.db

revision: str = "e7f1a2b3c4d5"
down_revision: str | None = "d5e8a9f0c312"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("source_url", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
        sa.Column("created_at", publisher.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_media_sha256"), "media", ["sha256"], unique=False)
    op.create_index(op.f("ix_media_workspace_id"), "media", ["workspace_id"], unique=False)
    with op.batch_alter_table("post") as batch:
        batch.add_column(sa.Column("media", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("post") as batch:
        batch.drop_column("media")
    op.drop_index(op.f("ix_media_workspace_id"), table_name="media")
    op.drop_index(op.f("ix_media_sha256"), table_name="media")
    op.drop_table("media")
