"""an index on a channel's claims

The dispatcher counts, for each channel with publications due, the claims made within
its platform's rate windows: (channel_id, claimed_at) reads that range, where the index
on channel_id alone walked the channel's whole history.

Revision ID: c3e5a7b9d1f2
Revises: b7d2f4a6c8e0
Create Date: 2026-11-29 21:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c3e5a7b9d1f2"
down_revision: str | None = "b7d2f4a6c8e0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_publication_channel_claimed", "publication", ["channel_id", "claimed_at"])


def downgrade() -> None:
    op.drop_index("ix_publication_channel_claimed", table_name="publication")
