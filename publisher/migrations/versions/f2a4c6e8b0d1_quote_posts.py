"""quote posts: the X post a post quotes

Revision ID: f2a4c6e8b0d1
Revises: e7f1a2b3c4d5
Create Date: 2026-11-24 12:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

revision: str = "f2a4c6e8b0d1"
down_revision: str | None = "e7f1a2b3c4d5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("post") as batch:
        batch.add_column(
            sa.Column("quote_of", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("post") as batch:
        batch.drop_column("quote_of")
