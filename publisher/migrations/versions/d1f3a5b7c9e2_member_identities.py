"""members across networks: identities, opt-outs, explicit merges, erasure

A member is known on each network by account id or @handle (member_identity); their
interactions there are theirs. Opt-outs are dated; a merge points the merged member at
the one that stays (merged_into); an erased member keeps its row, anonymous, so counts
stay true.

Revision ID: d1f3a5b7c9e2
Revises: c9e1a3b5d7f9
Create Date: 2026-11-30 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from publisher.db import UTCDateTime

revision: str = "d1f3a5b7c9e2"
down_revision: str | None = "c9e1a3b5d7f9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.add_column(sa.Column("opted_out_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("merged_into", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("erased_at", UTCDateTime(timezone=True), nullable=True))
        batch.create_foreign_key("fk_member_merged_into", "member", ["merged_into"], ["id"])
    op.create_table(
        "member_identity",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workspace_id", sa.Integer(), sa.ForeignKey("workspace.id"), nullable=False),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("member.id"), nullable=False),
        sa.Column("platform", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=201), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("workspace_id", "platform", "key", name="uq_member_identity"),
    )
    op.create_index("ix_member_identity_member", "member_identity", ["member_id"])


def downgrade() -> None:
    op.drop_table("member_identity")
    with op.batch_alter_table("member") as batch:
        batch.drop_constraint("fk_member_merged_into", type_="foreignkey")
        batch.drop_column("erased_at")
        batch.drop_column("merged_into")
        batch.drop_column("opted_out_at")
