"""read holds: when the platform said to ask a channel's reads again

A live metrics read refused by the platform's rate limit (a 429 and its reset) answered
503 with the reset, and the next read went straight to the platform all the same; the
scheduled pulls handed over in the same pass did too. The pull that was refused keeps
the time the platform gave: reads of that channel wait for it.

Revision ID: a2c4e6f8b0d3
Revises: f3b5d7f9a1c3
Create Date: 2026-12-01 02:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from publisher.db import UTCDateTime

revision: str = "a2c4e6f8b0d3"
down_revision: str | None = "f3b5d7f9a1c3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("metric_pull") as batch:
        batch.add_column(sa.Column("retry_at", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("metric_pull") as batch:
        batch.drop_column("retry_at")
