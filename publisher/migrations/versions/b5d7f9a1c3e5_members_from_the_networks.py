"""members from the networks: a member may be known only by their accounts there

Someone who replies, likes, relays or follows is a member of the community from their
first interaction: the engine makes the member, known by their account id and handle
on that network, before your systems know them (no id of yours yet: `external_id` is
null until a result or a call names them with one of those identities).

Revision ID: b5d7f9a1c3e5
Revises: a3c5e7f9b1d3
Create Date: 2026-11-30 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b5d7f9a1c3e5"
down_revision: str | None = "a3c5e7f9b1d3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.alter_column("external_id", existing_type=sa.String(length=200), nullable=True)


def downgrade() -> None:
    # Members the networks brought get an id of the engine's own: `network:<member id>`.
    op.execute("UPDATE member SET external_id = 'network:' || id WHERE external_id IS NULL")
    with op.batch_alter_table("member") as batch:
        batch.alter_column("external_id", existing_type=sa.String(length=200), nullable=False)
