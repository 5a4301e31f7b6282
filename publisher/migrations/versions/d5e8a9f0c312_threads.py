"""threads: a post's further parts, a publication's part ids

Revision ID: d5e8a9f0c312
Revises: b41c07e5d2a1
Create Date: 2026-11-24 11:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d5e8a9f0c312"
down_revision: str | None = "b41c07e5d2a1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("post") as batch:
        batch.add_column(sa.Column("thread", sa.JSON(), nullable=True))
    with op.batch_alter_table("publication") as batch:
        batch.add_column(sa.Column("part_ids", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("publication") as batch:
        batch.drop_column("part_ids")
    with op.batch_alter_table("post") as batch:
        batch.drop_column("thread")
