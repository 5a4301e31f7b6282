"""forgotten identities: an erased member's accounts, kept as digests only

An erased person who commented again was made a new member from their account: the
engine collected again who they are. Erasure now keeps a digest of each identity it
deletes; an author whose account (or handle, when no other account of theirs is known)
has one is stored anonymous and makes no member.

Revision ID: e1a3c5e7b9d1
Revises: d9f1a3c5e7b9
Create Date: 2026-11-30 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from publisher.db import UTCDateTime

revision: str = "e1a3c5e7b9d1"
down_revision: str | None = "d9f1a3c5e7b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "forgotten_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=40), nullable=False),
        sa.Column("by_handle", sa.Boolean(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspace.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "platform", "digest", name="uq_forgotten_identity"),
    )
    op.create_index("ix_forgotten_identity_member", "forgotten_identity", ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_forgotten_identity_member", table_name="forgotten_identity")
    op.drop_table("forgotten_identity")
