"""the process that claimed a publication

A claim names its process (boot id and PID namespace, pid, start time): the reaper
settles the claims of a process that is certainly gone at once, instead of a lease later.

Revision ID: b7d2f4a6c8e0
Revises: a1b2c3d4e5f6
Create Date: 2026-11-29 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7d2f4a6c8e0"
down_revision: str | None = "a1b2c3d4e5f6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("publication") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("publication") as batch:
        batch.drop_column("claimed_by")
