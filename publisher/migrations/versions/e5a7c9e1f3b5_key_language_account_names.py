"""a key's language, a channel's account name and handle

The review page speaks the language of the key its link votes as; previews show the
account as the network does (display name, @handle), learnt when the channel is
connected or checked. All three are optional.

Revision ID: e5a7c9e1f3b5
Revises: d4f6b8a0c2e4
Create Date: 2026-11-30 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5a7c9e1f3b5"
down_revision: str | None = "d4f6b8a0c2e4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_key") as batch:
        batch.add_column(sa.Column("language", sa.String(length=35), nullable=True))
    with op.batch_alter_table("channel") as batch:
        batch.add_column(sa.Column("account_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("account_handle", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channel") as batch:
        batch.drop_column("account_handle")
        batch.drop_column("account_name")
    with op.batch_alter_table("api_key") as batch:
        batch.drop_column("language")
